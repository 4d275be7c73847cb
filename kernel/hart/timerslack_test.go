package hart

import "testing"

func TestRoundDeadline(t *testing.T) {
	const never = ^uint64(0)
	for _, c := range []struct{ at, grid, want uint64 }{
		{0, 10, 0},
		{1, 10, 10},
		{10, 10, 10},
		{11, 10, 20},
		{19, 10, 20},
		{12345, 0, 12345},
		{never, 10, never},
		{never - 3, 10, never - 3}, // would overflow: unchanged
		{never - 16, 10, never - 15},
	} {
		if got := roundDeadline(c.at, c.grid); got != c.want {
			t.Errorf("roundDeadline(%d, %d) = %d, want %d", c.at, c.grid, got, c.want)
		}
		if got := roundDeadline(c.at, c.grid); got < c.at {
			t.Errorf("roundDeadline(%d, %d) = %d is earlier", c.at, c.grid, got)
		}
	}
	// Deadlines in one grid step become one value.
	if roundDeadline(1001, 1000) != roundDeadline(1999, 1000) {
		t.Error("one grid step gave two deadlines")
	}
}

func TestKeepTimer(t *testing.T) {
	const now = 1000
	for _, c := range []struct {
		name        string
		timerAt, at uint64
		want        bool
	}{
		{"same deadline", 2000, 2000, true},
		{"fires earlier", 1500, 2000, true},
		{"must move earlier", 2500, 2000, false},
		{"fired", 900, 2000, false},
		{"never programmed", 0, 2000, false},
		{"far, a deadline comes", ^uint64(0), 2000, false},
		{"far, still nothing", ^uint64(0), ^uint64(0), true},
	} {
		if got := keepTimer(c.timerAt, c.at, now); got != c.want {
			t.Errorf("%s: keepTimer(%d, %d, %d) = %v", c.name, c.timerAt, c.at, now, got)
		}
	}
}
