package toolchain

import (
	"reflect"
	"testing"
)

func TestVolumeOption(t *testing.T) {
	o, rest, err := SplitLinkOptions([]string{"-o", "app", "--volume", "/data/", "--volume=/srv/x", "main.o"}, "")
	if err != nil || !reflect.DeepEqual(o.Volumes, []string{"/data", "/srv/x"}) || !reflect.DeepEqual(rest, []string{"-o", "app", "main.o"}) {
		t.Fatalf("volumes %q rest %q err %v", o.Volumes, rest, err)
	}
	for _, bad := range [][]string{
		{"--volume", "data"}, {"--volume", "/"}, {"--volume", "/a:b"},
		{"--volume", "/d", "--volume", "/d/"}, {"--volume"},
		{"--app-only", "--volume", "/d"},
	} {
		if _, _, err := SplitLinkOptions(bad, ""); err == nil {
			t.Errorf("SplitLinkOptions(%q) accepted", bad)
		}
	}
}
