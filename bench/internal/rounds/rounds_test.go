package rounds

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.v); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestSummary(t *testing.T) {
	s := Series{Name: "GET", RK: []float64{300, 200, 150}, LG: []float64{100, 200, 0}}
	if r := s.Ratios(); len(r) != 2 || r[0] != 3 || r[1] != 1 {
		t.Fatalf("ratios %v, want [3 1] (the round without a Linux value has none)", r)
	}
	var b strings.Builder
	if err := Summary(&b, "test", []Series{s, {Name: "alone", RK: []float64{7}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"2.00x", "1.00x", "3.00x", "alone"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !Order(0) || Order(1) || !Order(2) {
		t.Error("rounds must alternate, Runikraft first in round 0")
	}
}
