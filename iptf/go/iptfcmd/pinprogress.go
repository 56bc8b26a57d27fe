package iptfcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	humanize "github.com/dustin/go-humanize"
	"github.com/ipfs/boxo/bitswap"
	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core"
	pincmd "github.com/ipfs/kubo/core/commands/pin"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// pinProgress is `pin add`'s output: kubo's, and, while the engine fetches, how many peers
// blocks came from in the last report's interval (JSON readers of kubo's output ignore it).
type pinProgress struct {
	pincmd.AddPinOutput
	Peers int `json:",omitempty"`
}

// senders counts the connected peers the node's bitswap received blocks from since the last
// count (its ledgers count the bytes each peer sent, whichever fetch asked for them).
type senders struct {
	bs   *bitswap.Bitswap
	host host.Host
	seen map[peer.ID]uint64
}

// newSenders returns the counter of nd's senders; nil (counting none) for a node without a
// network.
func newSenders(nd *core.IpfsNode) *senders {
	if nd == nil || nd.Bitswap == nil || nd.PeerHost == nil {
		return nil
	}
	return &senders{bs: nd.Bitswap, host: nd.PeerHost, seen: map[peer.ID]uint64{}}
}

func (s *senders) count() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, p := range s.host.Network().Peers() {
		r := s.bs.LedgerForPeer(p)
		if r == nil {
			continue
		}
		if r.Recv > s.seen[p] {
			n++
		}
		s.seen[p] = r.Recv
	}
	return n
}

// progressOut is where pinPostRun draws its progress line (a terminal's standard error).
var progressOut io.Writer = os.Stderr

// pinPostRun is `pin add`'s client side: kubo's progress line ("Fetched/Processed N nodes
// (size)") with the rate since the first report and the peers blocks come from, then the
// pins as kubo prints them.
func pinPostRun(res cmds.Response, re cmds.ResponseEmitter) error {
	var first time.Time
	var firstBytes uint64
	for {
		v, err := res.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var out pinProgress
		switch v := v.(type) {
		case *pinProgress:
			out = *v
		case *pincmd.AddPinOutput: // from kubo's own run
			out.AddPinOutput = *v
		default:
			return fmt.Errorf("unexpected output of type %T from pin add", v)
		}
		if out.Pins != nil {
			if err := re.Emit(&out.AddPinOutput); err != nil {
				return err
			}
			continue
		}
		line := fmt.Sprintf("Fetched/Processed %d nodes (%s)", out.Progress, humanize.Bytes(out.Bytes))
		now := time.Now()
		if first.IsZero() || out.Bytes < firstBytes {
			first, firstBytes = now, out.Bytes
		} else if elapsed := now.Sub(first).Seconds(); elapsed > 0 && out.Bytes > firstBytes {
			line += fmt.Sprintf(", %s/s", humanize.Bytes(uint64(float64(out.Bytes-firstBytes)/elapsed)))
		}
		if out.Peers == 1 {
			line += " from 1 peer"
		} else if out.Peers > 1 {
			line += fmt.Sprintf(" from %d peers", out.Peers)
		}
		// Cleared first: the line can get shorter (kubo's walk reports after the engine).
		fmt.Fprintf(progressOut, "\033[2K%s\r", line)
	}
}
