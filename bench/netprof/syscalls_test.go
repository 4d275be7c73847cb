package main

import (
	"strings"
	"testing"
)

func TestParseTraceSummary(t *testing.T) {
	const summary = `
 Summary of events:

 qemu-system-ris (4100), 10712 events, 60.1%

   syscall            calls  errors  total       min       avg       max       stddev
                                     (msec)    (msec)    (msec)    (msec)        (%)
   --------------- --------  ------ -------- --------- --------- ---------     ------
   ppoll               3486      0  1000.0     0.001     0.200     9.000      1.00%
   read                2000      12    10.0     0.001     0.001     0.100      1.00%

 CPU 0/TCG (4102), 4800 events, 30.0%

   syscall            calls  errors  total       min       avg       max       stddev
                                     (msec)    (msec)    (msec)    (msec)        (%)
   --------------- --------  ------ -------- --------- --------- ---------     ------
   write               2370      0     5.0     0.001     0.002     0.010      1.00%
`
	th, err := parseTraceSummary(strings.NewReader(summary))
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 2 || th[0].name != "qemu-system-ris" || th[1].name != "CPU 0/TCG" {
		t.Fatalf("threads %+v", th)
	}
	if th[0].calls["ppoll"] != 3486 || th[0].calls["read"] != 2000 || th[1].calls["write"] != 2370 || len(th[1].calls) != 1 {
		t.Fatalf("calls %+v", th)
	}
	if _, err := parseTraceSummary(strings.NewReader("nothing here\n")); err == nil {
		t.Fatal("a summary without threads parsed")
	}
}

func TestCountEvents(t *testing.T) {
	const log = `virtio_queue_notify vdev 0x1 n 1 vq 0x2
1234@1700000000.000001:virtio_notify vdev 0x1 vq 0x2
virtio_notify vdev 0x1 vq 0x3
virtio_mmio_read offset 0x70
virtio_notifyx vdev
`
	c, err := countEvents(strings.NewReader(log), []string{"virtio_queue_notify", "virtio_notify"})
	if err != nil {
		t.Fatal(err)
	}
	if c["virtio_queue_notify"] != 1 || c["virtio_notify"] != 2 || len(c) != 2 {
		t.Fatalf("counts %v", c)
	}
	if _, err := newEventLog(t.TempDir(), "a,b;rm"); err == nil {
		t.Fatal("a bad event name was taken")
	}
}
