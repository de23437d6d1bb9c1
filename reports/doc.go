// Package reports turns a run's results into files and tables: JUnit, JSON,
// a Markdown summary and the terminal summary table.
package reports
