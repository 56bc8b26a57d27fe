package fetch

import (
	"context"
	"sync"
	"time"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	bsnetwork "github.com/ipfs/boxo/bitswap/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A peer acts on wants and cancels in the order it receives them, so they must leave in the
// order the fetch decided them: a cancel that overtakes the want it was meant for leaves that
// want standing (a block sent twice), and a cancel that a want overtakes ends the want meant
// to replace it (the block then waits steerWantExpiry). Every message to a peer therefore
// goes through its sender's queue, which one goroutine drains in order; the fetch loop hands
// over cancels without waiting, and waits only for its own want-blocks to leave.

// sender is one peer's message stream and the messages waiting for it.
type sender struct {
	mu      sync.Mutex
	queue   []outgoing
	running bool                    // a goroutine is draining the queue
	ms      bsnetwork.MessageSender // opened on first use; only the draining goroutine uses it
}

// outgoing is one queued message.
type outgoing struct {
	ctx  context.Context
	msg  bsmsg.BitSwapMessage
	sent chan<- error // nil: nobody waits for it
}

// enqueue queues msg for p behind everything queued for p before it; sent (when not nil)
// hears whether it left. It never blocks.
func (s *steerer) enqueue(ctx context.Context, p peer.ID, msg bsmsg.BitSwapMessage, sent chan<- error) {
	s.mu.Lock()
	snd := s.senders[p]
	if snd == nil {
		snd = &sender{}
		s.senders[p] = snd
	}
	s.mu.Unlock()
	snd.mu.Lock()
	snd.queue = append(snd.queue, outgoing{ctx: ctx, msg: msg, sent: sent})
	start := !snd.running
	snd.running = true
	snd.mu.Unlock()
	if start {
		go s.drain(p, snd)
	}
}

// drain sends snd's queued messages to p one at a time, in order, until the queue is empty.
func (s *steerer) drain(p peer.ID, snd *sender) {
	for {
		snd.mu.Lock()
		if len(snd.queue) == 0 {
			snd.running = false
			snd.mu.Unlock()
			return
		}
		next := snd.queue[0]
		snd.queue[0] = outgoing{}
		snd.queue = snd.queue[1:]
		snd.mu.Unlock()
		err := next.ctx.Err()
		if err == nil {
			err = s.deliver(next.ctx, p, snd, next.msg)
		}
		if next.sent != nil {
			next.sent <- err
		}
	}
}

// deliver writes one message to p's stream, opening the stream first if need be; a stream
// that failed is dropped, and the next message opens a new one.
func (s *steerer) deliver(ctx context.Context, p peer.ID, snd *sender, msg bsmsg.BitSwapMessage) error {
	if snd.ms == nil {
		ms, err := s.net.NewMessageSender(ctx, p, &bsnetwork.MessageSenderOpts{
			MaxRetries: 1, SendTimeout: 5 * time.Second, SendErrorBackoff: 100 * time.Millisecond})
		if err != nil {
			return err
		}
		snd.ms = ms
	}
	if err := snd.ms.SendMsg(ctx, msg); err != nil {
		_ = snd.ms.Reset()
		snd.ms = nil
		return err
	}
	return nil
}
