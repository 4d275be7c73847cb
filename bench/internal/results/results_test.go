package results

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	out := []byte("OpenSBI v1.1\ngetpid 4975\nnoise line here\nclock_gettime x\nwrite -3\nfutex 179869\ngetpid 5000\n")
	vals, order := Parse(out)
	if want := []string{"getpid", "futex"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if vals["getpid"] != 5000 || vals["futex"] != 179869 || len(vals) != 2 {
		t.Errorf("values %v", vals)
	}
}
