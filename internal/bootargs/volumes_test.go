package bootargs

import (
	"reflect"
	"testing"
)

func TestVolumesRoundTrip(t *testing.T) {
	vs := []Volume{{Tag: "vol0", Dir: "/data"}, {Tag: "x", Dir: "/a:b c", ReadOnly: true}}
	s, err := EncodeVolumes(vs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeVolumes(s)
	if err != nil || !reflect.DeepEqual(got, vs) {
		t.Fatalf("DecodeVolumes = %+v, %v; want %+v", got, err, vs)
	}
}

func TestParseVolumeRejects(t *testing.T) {
	for _, s := range []string{"", "tag", "tag:rw", ":rw:/d", "t:rx:/d", "t:rw:rel", "t:rw:", string(make([]byte, 256)) + ":rw:/d"} {
		if v, err := ParseVolume(s); err == nil {
			t.Errorf("ParseVolume(%q) = %+v, want an error", s, v)
		}
	}
	if _, err := EncodeVolumes([]Volume{{Tag: "a:b", Dir: "/d"}}); err == nil {
		t.Error("a tag with ':' encoded")
	}
}
