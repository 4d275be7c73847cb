// Package rounds summarises a benchmark that measures Runikraft and the
// Linux guest in several rounds. On a shared, noisy host one pair of
// runs can land on either side of a target; the rounds alternate which
// guest goes first (Order), and the summary gives the median of the
// per-round ratios with their range, so a reader sees the spread rather
// than one draw.
package rounds

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// Order says whether round i (from 0) measures Runikraft first: rounds
// alternate, so neither guest always runs on a machine warmed or loaded
// by the other.
func Order(i int) (runikraftFirst bool) { return i%2 == 0 }

// Series is one measure (higher is better, e.g. requests per second)
// over the rounds: Runikraft's and the Linux guest's values, paired by
// round. A round whose Linux value is missing or zero has no ratio.
type Series struct {
	Name   string
	RK, LG []float64
}

// Median is the median of v (the mean of the middle two for an even
// count); 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratios are the per-round Runikraft/Linux ratios of s.
func (s Series) Ratios() []float64 {
	var r []float64
	for i := range min(len(s.RK), len(s.LG)) {
		if s.LG[i] > 0 {
			r = append(r, s.RK[i]/s.LG[i])
		}
	}
	return r
}

// Summary prints, per series, the rounds, each guest's median and the
// median and range of the per-round ratios.
func Summary(w io.Writer, title string, series []Series) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, title+"\trounds\tRunikraft median\tLinux guest median\tmedian ratio\tlowest\thighest\t")
	for _, s := range series {
		r := s.Ratios()
		if len(r) == 0 {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t-\t-\t-\t-\t\n", s.Name, len(s.RK), Median(s.RK))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2fx\t%.2fx\t%.2fx\t\n", s.Name, len(s.RK), Median(s.RK), Median(s.LG),
			Median(r), slices.Min(r), slices.Max(r))
	}
	return tw.Flush()
}
