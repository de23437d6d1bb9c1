package browser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/chromedp"
)

// ReportChecks says what CheckReport expects of a report.html.
type ReportChecks struct {
	// Failed are the full texts (suite and spec) of the specs that failed
	// (or timed out, panicked, ...).
	Failed []string
	// Passed counts the specs that passed.
	Passed int
}

// rowsJS lists the spec rows: text, result, shown.
const rowsJS = `Array.from(document.querySelectorAll("#specs tbody tr.spec")).map(r => ({
  text: r.cells[0].textContent + " " + r.cells[1].textContent,
  result: r.dataset.result,
  shown: !r.hidden && r.offsetParent !== null,
}))`

type row struct {
	Text   string `json:"text"`
	Result string `json:"result"`
	Shown  bool   `json:"shown"`
}

// CheckReport opens the report.html at path and checks, as a person
// would see it: every failing spec is listed and has its failure section;
// unticking "passed" hides every passed spec and keeps the failed ones; a
// Service's chain link in the node tables opens the collapsed table and
// lands on that chain's rules. It takes a screenshot at each step into
// shots.
func CheckReport(ctx context.Context, path, shots string, want ReportChecks) (err error) {
	p, err := Open(ctx, path, shots)
	if err != nil {
		return err
	}
	defer p.Close()
	var errs []error
	check := func(e error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	check(p.Screenshot("1-loaded"))
	check(p.checkFailuresShown(want))
	check(p.checkFilterHidesPassed(want))
	check(p.checkChainLink())
	return errors.Join(errs...)
}

// failedResult reports whether a row's result counts as a failure.
func failedResult(result string) bool {
	return !slices.Contains([]string{"passed", "skipped", "pending"}, result)
}

func (p *Page) rows() ([]row, error) {
	return Eval[[]row](p, rowsJS)
}

func (p *Page) checkFailuresShown(want ReportChecks) error {
	rows, err := p.rows()
	if err != nil {
		return err
	}
	var errs []error
	for _, text := range want.Failed {
		i := slices.IndexFunc(rows, func(r row) bool { return strings.TrimSpace(r.Text) == text })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("failed spec %q is not in the page's results", text))
		case !failedResult(rows[i].Result) || !rows[i].Shown:
			errs = append(errs, fmt.Errorf("failed spec %q shows as %s (shown %v)", text, rows[i].Result, rows[i].Shown))
		}
	}
	articles, err := Eval[int](p, `document.querySelectorAll("#failures article.failure").length`)
	if err != nil {
		return err
	}
	if articles != len(want.Failed) {
		errs = append(errs, fmt.Errorf("%d failure sections, want %d", articles, len(want.Failed)))
	}
	return errors.Join(errs...)
}

func (p *Page) checkFilterHidesPassed(want ReportChecks) error {
	if err := p.Do(chromedp.Click(`#filters input[name=result][value=passed]`)); err != nil {
		return fmt.Errorf("unticking the passed filter: %w", err)
	}
	rows, err := p.rows()
	if err != nil {
		return err
	}
	var passedShown, failedShown, passed int
	for _, r := range rows {
		switch {
		case r.Result == "passed":
			passed++
			if r.Shown {
				passedShown++
			}
		case failedResult(r.Result) && r.Shown:
			failedShown++
		}
	}
	if err := p.Screenshot("2-passed-hidden"); err != nil {
		return err
	}
	switch {
	case passed != want.Passed:
		return fmt.Errorf("the page lists %d passed specs, want %d", passed, want.Passed)
	case passedShown != 0:
		return fmt.Errorf("with passed unticked, %d passed specs are still shown", passedShown)
	case failedShown != len(want.Failed):
		return fmt.Errorf("with passed unticked, %d failed specs are shown, want %d", failedShown, len(want.Failed))
	}
	return nil
}

// chainJS reads where the page is after following a Service chain link.
const chainJS = `(() => {
  const id = decodeURIComponent(location.hash.slice(1));
  const el = document.getElementById(id);
  if (!el) return {id: id, found: false};
  const box = el.getBoundingClientRect();
  return {
    id: id, found: true,
    name: el.querySelector(".chain-name").firstChild.textContent.trim(),
    rules: Array.from(el.querySelectorAll(".rule code")).map(c => c.textContent),
    visible: el.offsetParent !== null,
    // scrollIntoView puts the top edge at 0, give or take the subpixel
    // rounding of the layout (-0.5 has been seen).
    inView: box.top > -1 && box.top < window.innerHeight,
    top: box.top,
  };
})()`

type landing struct {
	ID      string   `json:"id"`
	Found   bool     `json:"found"`
	Name    string   `json:"name"`
	Rules   []string `json:"rules"`
	Visible bool     `json:"visible"`
	InView  bool     `json:"inView"`
	Top     float64  `json:"top"`
}

func (p *Page) checkChainLink() error {
	type chainLink struct {
		Href  string `json:"href"`
		Chain string `json:"chain"`
	}
	// As a person would: open the first failure's tables, then follow
	// its first Service's first chain link.
	if err := p.Do(chromedp.Click(`#failures details.dump > summary`)); err != nil {
		return fmt.Errorf("opening a failure's tables: %w", err)
	}
	link, err := Eval[chainLink](p, `(() => { const a = document.querySelector("#failures details.dump[open] .services a");
	  return a ? {href: a.getAttribute("href"), chain: a.textContent} : {href: "", chain: ""}; })()`)
	if err != nil {
		return err
	}
	if link.Href == "" {
		return errors.New("no Service chain link in the failure's tables")
	}
	if err := p.Do(chromedp.Click(`#failures details.dump[open] .services a[href="` + link.Href + `"]`)); err != nil {
		return fmt.Errorf("clicking the link to %s: %w", link.Chain, err)
	}
	l, err := Eval[landing](p, chainJS)
	if err != nil {
		return err
	}
	if err := p.Screenshot("3-chain"); err != nil {
		return err
	}
	switch {
	case "#"+l.ID != link.Href || !l.Found:
		return fmt.Errorf("following %s landed on %q, which the page does not have", link.Href, l.ID)
	case l.Name != link.Chain:
		return fmt.Errorf("following the link to %s landed on chain %q", link.Chain, l.Name)
	case !l.Visible || !l.InView:
		return fmt.Errorf("chain %s is not on screen after following its link (visible %v, in view %v, top at %.1f px)", l.Name, l.Visible, l.InView, l.Top)
	case len(l.Rules) == 0:
		return fmt.Errorf("chain %s shows no rules", l.Name)
	}
	for _, r := range l.Rules {
		if !strings.HasPrefix(r, "-A "+l.Name+" ") {
			return fmt.Errorf("chain %s shows a rule of another chain: %s", l.Name, r)
		}
	}
	return nil
}
