package app

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Timers and signals programs wait on (testdata/c/timers.c, one mode per
// run), on the stock kernel in QEMU.

func timersProgram(*testing.T) string { return "c-timers" }

// alarm(1); pause(): SIGALRM's default action ends the program, 128+14.
func TestAlarmPause(t *testing.T) {
	r := run(t, nil, timersProgram(t), "alarm")
	if r.Code != 142 || strings.Contains(r.Stdout, "pause returned") {
		t.Fatalf("exit %d, stdout %q; want 142", r.Code, r.Stdout)
	}
}

// An ITIMER_REAL interval timer of 50 ms delivers N signals in N
// intervals, within 20%.
func TestIntervalTimerRate(t *testing.T) {
	const n = 20
	r := run(t, nil, timersProgram(t), "itimer", strconv.Itoa(n))
	m := regexp.MustCompile(`itimer: (\d+) signals in (\d+) ms \(interval was 50000 us\)`).FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil {
		t.Fatalf("exit %d, stdout %q", r.Code, r.Stdout)
	}
	ms, _ := strconv.Atoi(m[2])
	if want := n * 50; ms < want*8/10 || ms > want*12/10 {
		t.Errorf("%s signals took %d ms, want %d ms ± 20%%", m[1], ms, want)
	}
}

func TestPosixTimerThreadID(t *testing.T) {
	expect(t, run(t, nil, timersProgram(t), "thread"), 0, "thread timer: value 4242, to the worker: yes\ndeleted timer: EINVAL\n")
}

func TestTimerfdInEpoll(t *testing.T) {
	expect(t, run(t, nil, timersProgram(t), "timerfd"), 0, "unarmed read: EAGAIN\ntimerfd: 5 expirations through epoll: yes, interval 30 ms\n")
}

// SIGSTOP stops the program until a timer sends SIGCONT.
func TestStopAndContinue(t *testing.T) {
	expect(t, run(t, nil, timersProgram(t), "stop"), 0, "stopped for at least 250 ms: yes\n")
}

func TestSigtimedwaitTimer(t *testing.T) {
	expect(t, run(t, nil, timersProgram(t), "sigwait"), 0, "sigtimedwait: SIGUSR1, code SI_TIMER, value 99\ntimeout: EAGAIN\nbad sigsetsize: EINVAL\n")
}

func TestSignalfdTimer(t *testing.T) {
	expect(t, run(t, nil, timersProgram(t), "signalfd"), 0, "signalfd: epoll 1, read 128, signal SIGUSR2, code SI_TIMER, value 77\n")
}
