package ipsave

import (
	"fmt"
	"strings"
)

// targetArity maps each modelled extension target to its options and
// their number of values.
var targetArity = map[string]map[string]int{
	"DNAT":       {"--to-destination": 1, "--random": 0, "--persistent": 0},
	"SNAT":       {"--to-source": 1, "--random": 0, "--random-fully": 0, "--persistent": 0},
	"MASQUERADE": {"--to-ports": 1, "--random": 0, "--random-fully": 0},
	"MARK":       {"--set-xmark": 1, "--set-mark": 1, "--or-mark": 1, "--xor-mark": 1, "--and-mark": 1},
	"REJECT":     {"--reject-with": 1},
}

// typeTarget fills the typed fields of t from its raw options.
func typeTarget(t *Target, opts []rawOpt) error {
	for _, o := range opts {
		if o.negate {
			return fmt.Errorf("target option %s cannot be negated", o.name)
		}
		if err := typeTargetOpt(t, o); err != nil {
			return fmt.Errorf("parsing -j %s %s: %w", t.Name, o.name, err)
		}
	}
	if t.Name == "MARK" && t.Mark == nil {
		return fmt.Errorf("parsing -j MARK: no mark option")
	}
	if t.Name == "DNAT" && t.ToDestination == "" {
		return fmt.Errorf("parsing -j DNAT: no --to-destination")
	}
	return nil
}

func typeTargetOpt(t *Target, o rawOpt) error {
	one := func(dst *string) error {
		if *dst != "" || len(o.values) != 1 || o.values[0] == "" {
			return fmt.Errorf("given twice or empty")
		}
		*dst = o.values[0]
		return nil
	}
	switch {
	case t.Name == "DNAT" && o.name == "--to-destination":
		return one(&t.ToDestination)
	case t.Name == "SNAT" && o.name == "--to-source":
		return one(&t.ToSource)
	case t.Name == "REJECT" && o.name == "--reject-with":
		return one(&t.RejectWith)
	case (t.Name == "MASQUERADE" || t.Name == "SNAT") && o.name == "--random-fully":
		if t.RandomFully {
			return fmt.Errorf("given twice")
		}
		t.RandomFully = true
		return nil
	case t.Name == "MARK":
		if t.Mark != nil || len(o.values) != 1 {
			return fmt.Errorf("only one mark option allowed")
		}
		a, err := markAction(o.name, o.values[0])
		if err != nil {
			return err
		}
		t.Mark = &a
		return nil
	}
	if t.Options == nil {
		t.Options = []string{}
	}
	t.Options = append(t.Options, o.name)
	t.Options = append(t.Options, o.values...)
	return nil
}

// markAction normalises a MARK target option to --set-xmark form.
func markAction(opt, val string) (MarkAction, error) {
	v, m, err := parseValueMask(val)
	if err != nil {
		return MarkAction{}, err
	}
	hasMask := strings.Contains(val, "/")
	switch opt {
	case "--set-xmark":
		return MarkAction{Value: v, Mask: m}, nil
	case "--set-mark":
		return MarkAction{Value: v, Mask: m | v}, nil
	}
	if hasMask {
		return MarkAction{}, fmt.Errorf("%s takes no mask", opt)
	}
	switch opt {
	case "--or-mark":
		return MarkAction{Value: v, Mask: v}, nil
	case "--xor-mark":
		return MarkAction{Value: v, Mask: 0}, nil
	default: // --and-mark
		return MarkAction{Value: 0, Mask: ^v}, nil
	}
}
