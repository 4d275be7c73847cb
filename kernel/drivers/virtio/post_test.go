package virtio

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// completeAll plays the device: it completes every published chain with
// its writable length, in order.
func completeAll(q *Queue) {
	d := &dev{r: q.r, avail: q.r.used, used: q.r.used}
	for _, c := range d.take() {
		var n uint32
		for _, x := range c {
			if x.flags&descWrite != 0 {
				n += x.len
			}
		}
		d.complete(c[0].next, n)
	}
}

func TestPostOrderAndRepost(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	var got []int
	var post func(i int)
	post = func(i int) {
		err := q.Post(func(n uint32, err error) {
			if err != nil || n != uint32(i+1) {
				t.Errorf("completion %d: %d, %v", i, n, err)
			}
			got = append(got, i)
			if i < 8 {
				post(i + 4) // give the descriptor back at once, from the callback
			}
		}, Buf{Addr: uintptr(i), Len: uint32(i + 1), DeviceWrites: true})
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	for i := range 4 {
		post(i)
	}
	if err := q.Post(func(uint32, error) {}, Buf{}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("post to a full queue: %v", err)
	}
	for round := 0; round < 3; round++ {
		completeAll(q)
		if n := q.Poll(); n != 4 {
			t.Fatalf("round %d: Poll handed over %d", round, n)
		}
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("completions in order %v", got)
		}
	}
	if len(got) != 12 || q.r.nfree != 4 {
		t.Fatalf("%d completions, %d free", len(got), q.r.nfree)
	}
	if q.Poll() != 0 {
		t.Fatal("Poll without completions handed something over")
	}
}

// Poll and the interrupt goroutine may collect at the same time; the
// callbacks must still run one at a time and in order.
func TestPollConcurrentOrder(t *testing.T) {
	const total = 300
	q := newQueue(0, queueMem(8), 8, func() {})
	var (
		mu   sync.Mutex
		next int
		bad  bool
	)
	posted := 0
	var post func()
	post = func() {
		i := posted
		posted++
		q.Post(func(uint32, error) {
			mu.Lock()
			if i != next {
				bad = true
			}
			next++
			mu.Unlock()
		}, Buf{Addr: uintptr(i)})
	}
	for range 8 {
		post()
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					q.Poll()
					runtime.Gosched()
				}
			}
		}()
	}
	for posted < total {
		q.mu.Lock()
		completeAll(q)
		q.mu.Unlock()
		for {
			q.mu.Lock()
			free := q.r.nfree
			q.mu.Unlock()
			if free > 0 {
				break
			}
			runtime.Gosched()
		}
		for {
			q.mu.Lock()
			free := q.r.nfree
			q.mu.Unlock()
			if free == 0 || posted >= total {
				break
			}
			post()
		}
	}
	for {
		mu.Lock()
		n := next
		mu.Unlock()
		if n == posted {
			break
		}
		runtime.Gosched()
		q.mu.Lock()
		completeAll(q)
		q.mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if bad {
		t.Fatal("completions handed over out of order")
	}
}

func TestPostFail(t *testing.T) {
	q := newQueue(5, queueMem(4), 4, func() {})
	errs := make(chan error, 2)
	for range 2 {
		if err := q.Post(func(_ uint32, err error) { errs <- err }, Buf{Len: 1}); err != nil {
			t.Fatal(err)
		}
	}
	q.fail(errors.New("irq lost"))
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrBroken) {
			t.Fatalf("callback after fail: %v", err)
		}
	}
	if err := q.Post(func(uint32, error) { t.Error("callback of a refused post") }, Buf{}); !errors.Is(err, ErrBroken) {
		t.Fatalf("post to a broken queue: %v", err)
	}
	if err := q.Post(nil, Buf{}); err == nil {
		t.Fatal("post without a callback accepted")
	}
}

// The device is notified of a new request unless its used ring's flags
// say VIRTQ_USED_F_NO_NOTIFY.
func TestNotifyUnlessDeviceDeclines(t *testing.T) {
	notified := 0
	q := newQueue(0, queueMem(4), 4, func() { notified++ })
	post := func() {
		if err := q.Post(func(uint32, error) {}, Buf{Addr: 1, Len: 1, DeviceWrites: true}); err != nil {
			t.Fatal(err)
		}
	}
	post()
	if notified != 1 {
		t.Fatalf("%d notifications after a post to a device that wants them", notified)
	}
	*q.r.usedHdr |= usedNoNotify
	post()
	if notified != 1 {
		t.Fatalf("%d notifications after a post to a device that declined them", notified)
	}
	*q.r.usedHdr &^= usedNoNotify
	post()
	if notified != 2 {
		t.Fatalf("%d notifications after the device asked again", notified)
	}
}

// SetInterrupts sets VIRTQ_AVAIL_F_NO_INTERRUPT in the available ring's
// flags and later posts keep it, with the index intact.
func TestSetInterrupts(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	q.SetInterrupts(false)
	if err := q.Post(func(uint32, error) {}, Buf{Addr: 1, Len: 1}); err != nil {
		t.Fatal(err)
	}
	if h := *q.r.availHdr; h != 1<<16|availNoInterrupt {
		t.Fatalf("avail header %#x after a post without interrupts", h)
	}
	q.SetInterrupts(true)
	if h := *q.r.availHdr; h != 1<<16 {
		t.Fatalf("avail header %#x with interrupts", h)
	}
}

// TryPoll hands completions over like Poll, but returns at once while
// another hand-over is under way.
func TestTryPoll(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	done := 0
	if err := q.Post(func(uint32, error) { done++ }, Buf{Addr: 1, Len: 1, DeviceWrites: true}); err != nil {
		t.Fatal(err)
	}
	completeAll(q)
	q.deliver.Lock()
	if n := q.TryPoll(); n != 0 || done != 0 {
		t.Fatalf("TryPoll during a hand-over: %d, %d done", n, done)
	}
	q.deliver.Unlock()
	if n := q.TryPoll(); n != 1 || done != 1 {
		t.Fatalf("TryPoll: %d, %d done", n, done)
	}
}

// A device that completes a request while it is notified (as QEMU's TCG
// devices do) lets Do return without an interrupt goroutine collecting.
func TestDoCompletesWithinNotify(t *testing.T) {
	var q *Queue
	q = newQueue(0, queueMem(4), 4, func() { completeAll(q) })
	for i := range 6 {
		n, err := q.Do(Buf{Addr: 0x1000, Len: uint32(100 + i), DeviceWrites: true})
		if err != nil || n != uint32(100+i) {
			t.Fatalf("Do %d: %d, %v", i, n, err)
		}
	}
	if q.r.nfree != 4 {
		t.Fatalf("%d descriptors free after the requests completed", q.r.nfree)
	}
}

// On a queue that has had a Post, Do leaves completions to the interrupt
// goroutine (here, Poll from another goroutine): a Post callback must
// not run in Do's caller.
func TestDoLeavesPostCallbacks(t *testing.T) {
	var q *Queue
	q = newQueue(0, queueMem(4), 4, func() { completeAll(q) })
	var caller, ran = make(chan struct{}), make(chan struct{})
	if err := q.Post(func(uint32, error) { close(ran) }, Buf{Addr: 0x2000, Len: 8}); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(caller)
		if _, err := q.Do(Buf{Addr: 0x1000, Len: 8}); err != nil {
			t.Errorf("Do: %v", err)
		}
	}()
	select {
	case <-ran:
		t.Fatal("the Post callback ran in Do's goroutine")
	case <-caller:
		t.Fatal("Do returned with nothing collected")
	case <-time.After(50 * time.Millisecond):
	}
	q.Poll()
	<-ran
	<-caller
}

// While completions are handed over the device is asked not to
// interrupt; what it completes meanwhile is handed over in the same
// collect, and afterwards interrupts are on again. With a bound on the
// rounds, collect stops with the rest left and says so, interrupts
// still off, and the next collect takes it and switches them back on.
func TestCollectDrainsWithoutInterrupts(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	d := &dev{r: q.r}
	var got []int
	var post func(i int)
	post = func(i int) {
		err := q.Post(func(uint32, error) {
			if *q.r.availHdr&availNoInterrupt == 0 {
				t.Errorf("completion %d handed over with interrupts on", i)
			}
			got = append(got, i)
			if i < 5 {
				post(i + 1)
				// The device completes the next one while this
				// callback runs, as QEMU's does on its own thread.
				for _, c := range d.take() {
					d.complete(c[0].next, 0)
				}
			}
		}, Buf{Addr: uintptr(i), Len: 1, DeviceWrites: true})
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	post(0)
	for _, c := range d.take() {
		d.complete(c[0].next, 0)
	}
	if n, more := q.collect(3, false); n != 3 || !more || len(got) != 3 {
		t.Fatalf("bounded collect: %d, more %v, got %v", n, more, got)
	}
	if *q.r.availHdr&availNoInterrupt == 0 {
		t.Fatal("interrupts on with completions left")
	}
	if n, more := q.collect(0, false); n != 3 || more || len(got) != 6 {
		t.Fatalf("collect: %d, more %v, got %v", n, more, got)
	}
	if *q.r.availHdr&availNoInterrupt != 0 {
		t.Fatal("interrupts still off after the drain")
	}
	// A driver that asked for no interrupts keeps them off.
	q.SetInterrupts(false)
	post(10)
	for _, c := range d.take() {
		d.complete(c[0].next, 0)
	}
	if n := q.Poll(); n != 1 || *q.r.availHdr&availNoInterrupt == 0 {
		t.Fatalf("poll: %d, avail header %#x", n, *q.r.availHdr)
	}
}

// A completion the device publishes just as the drain switches
// interrupts back on (before it saw them on, so it raised none) is
// handed over by the look at the ring that follows.
func TestCollectRechecksAfterInterruptsOn(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	d := &dev{r: q.r}
	done := 0
	for range 2 {
		if err := q.Post(func(uint32, error) { done++ }, Buf{Addr: 1, Len: 1, DeviceWrites: true}); err != nil {
			t.Fatal(err)
		}
	}
	chains := d.take()
	d.complete(chains[0][0].next, 0)
	q.mu.Lock()
	q.r.setDraining(true) // as a drain that just took the first one
	if _, _, ok, err := q.r.pop(); !ok || err != nil {
		t.Fatal("pop", ok, err)
	}
	q.waiters[chains[0][0].next] = nil
	done++
	d.complete(chains[1][0].next, 0) // no interrupt: the flag says none
	q.mu.Unlock()
	if n := q.Poll(); n != 1 || done != 2 {
		t.Fatalf("poll after the race: %d, %d done", n, done)
	}
	if *q.r.availHdr&availNoInterrupt != 0 {
		t.Fatal("interrupts still off")
	}
}

// The batch-done function runs once after a collect, all its rounds
// (what the device completed while the callbacks ran included), and not
// for a collect that found nothing.
func TestBatchDone(t *testing.T) {
	q := newQueue(0, queueMem(4), 4, func() {})
	d := &dev{r: q.r}
	var events []string
	q.SetBatchDone(func() { events = append(events, "end") })
	var post func(i int)
	post = func(i int) {
		err := q.Post(func(uint32, error) {
			events = append(events, "c")
			if i == 1 {
				// Completed while this round's callbacks run: the
				// next round's, the same batch.
				post(10)
				for _, c := range d.take() {
					d.complete(c[0].next, 0)
				}
			}
		}, Buf{Addr: uintptr(i), Len: 1, DeviceWrites: true})
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	post(0)
	post(1)
	for _, c := range d.take() {
		d.complete(c[0].next, 0)
	}
	if n := q.Poll(); n != 3 {
		t.Fatalf("Poll handed over %d, want 3", n)
	}
	if got := strings.Join(events, " "); got != "c c c end" {
		t.Errorf("events %q, want two rounds in one batch", got)
	}
	events = nil
	if q.Poll(); len(events) != 0 {
		t.Errorf("an empty collect ran %q", events)
	}
}
