// Package retention keeps the content the reflog names through garbage collection, for a
// retention period (git's reflog expiry, 90 days by default).
//
// kubo's collector keeps pinned content and, best-effort, the DAGs under the node's MFS
// roots: blocks it cannot find there are skipped, not fetched. The retention root is such a
// root, registered with the node: a small directory tree whose links are the CIDs of the
// reflog's recent entries. A file read from the network and only partly cached keeps what
// is cached; nothing is fetched, and the user's own pins are left alone (pinning the CIDs
// instead would fetch every missing block, fail offline, and be indistinguishable from the
// user's pins when its time is up).
package retention

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ipfs/boxo/blockservice"
	offline "github.com/ipfs/boxo/exchange/offline"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/kubo/core"

	"iptf.io/node/reflog"
	"iptf.io/node/uri"
)

// DefaultPeriod is how long content named by a reflog entry is kept, as git keeps reflog entries.
const DefaultPeriod = 90 * 24 * time.Hour

// ConfigKey is the key in Plugins.Plugins.iptf.Config that sets the period ("90d", "720h", "0").
const ConfigKey = "ReflogRetention"

// ReadsConfigKey sets the period for reads of iptf://ipfs and iptf://ipns content, 0 unless
// it says otherwise: peers serve that content again, so what was read of it is cache (package
// cache), evicted least recently used first. Writes, and reads in the writable tree, keep the
// retention period.
const ReadsConfigKey = "NetworkReadRetention"

// linksPerNode bounds each node of the tree (about 100 bytes a link: blocks near 100 KiB).
const linksPerNode = 1024

// Summary says what the reflog keeps.
type Summary struct {
	Period string // the retention period
	Cids   int    // distinct CIDs named by entries younger than the period
	Bytes  uint64 // their sizes as recorded (what is cached of them is kept)
}

// Period is the retention period in the node's config, or DefaultPeriod.
func Period(node *core.IpfsNode) (time.Duration, error) {
	return configPeriod(node, ConfigKey, DefaultPeriod)
}

// ReadsPeriod is the retention period of reads of network content, or 0.
func ReadsPeriod(node *core.IpfsNode) (time.Duration, error) {
	return configPeriod(node, ReadsConfigKey, 0)
}

// configPeriod reads a period from Plugins.Plugins.iptf.Config.key (def when unset).
func configPeriod(node *core.IpfsNode, key string, def time.Duration) (time.Duration, error) {
	cfg, err := node.Repo.Config()
	if err != nil {
		return 0, err
	}
	plugin, ok := cfg.Plugins.Plugins["iptf"]
	if !ok {
		return def, nil
	}
	m, _ := plugin.Config.(map[string]any)
	s, _ := m[key].(string)
	if s == "" {
		return def, nil
	}
	d, err := reflog.ParseAge(s)
	if err != nil {
		return 0, fmt.Errorf("Plugins.Plugins.iptf.Config.%s: %w", key, err)
	}
	return d, nil
}

// Keeper keeps a node's reflog content through garbage collection.
type Keeper struct {
	node *core.IpfsNode

	mu   sync.Mutex
	root *mfs.Root // the retention root registered with the node, if any
}

// NewKeeper returns the node's keeper; it keeps nothing until Keep.
func NewKeeper(node *core.IpfsNode) *Keeper { return &Keeper{node: node} }

// Keep makes the node's garbage collector keep what the reflog's entries younger than the
// retention period name, replacing what an earlier call kept. Call it before collecting.
func (k *Keeper) Keep(ctx context.Context, log *reflog.Log) (*Summary, error) {
	node := k.node
	links, sum, err := collect(node, log)
	if err != nil {
		return nil, err
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	// New blocks are not linked from any root until registered: keep GC off them meanwhile.
	unlock := node.Blockstore.PinLock(ctx)
	defer unlock.Unlock(ctx)
	// Local only: the tree is nobody else's business, and announcing it would list what was read.
	dags := dag.NewDAGService(blockservice.New(node.Blockstore, offline.Exchange(node.Blockstore)))
	top, err := store(ctx, dags, links)
	if err != nil {
		return nil, fmt.Errorf("keeping the reflog's content: %w", err)
	}
	// The root outlives this call: the collector reads it later, under the node's context.
	root, err := mfs.NewRoot(node.Context(), dags, top, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("keeping the reflog's content: %w", err)
	}
	node.RegisterMFSRoot(root)
	if k.root != nil {
		node.UnregisterMFSRoot(k.root)
	}
	k.root = root
	return sum, nil
}

// store writes the tree linking to every CID: UnixFS directories of at most linksPerNode
// links, their leaves named by the CIDs they keep, and returns its top.
func store(ctx context.Context, dags ipld.DAGService, links []*ipld.Link) (*dag.ProtoNode, error) {
	level := make([]*ipld.Link, len(links))
	copy(level, links)
	for {
		var nodes []ipld.Node
		var up []*ipld.Link
		for i := 0; i < len(level) || i == 0; i += linksPerNode {
			nd := ft.EmptyDirNode()
			for _, l := range level[i:min(i+linksPerNode, len(level))] {
				if err := nd.AddRawLink(l.Name, l); err != nil {
					return nil, err
				}
			}
			size, err := nd.Size()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, nd)
			up = append(up, &ipld.Link{Name: strconv.Itoa(len(up)), Cid: nd.Cid(), Size: size})
		}
		if err := dags.AddMany(ctx, nodes); err != nil {
			return nil, err
		}
		if len(nodes) == 1 {
			return nodes[0].(*dag.ProtoNode), nil
		}
		level = up
	}
}

func formatPeriod(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// Kept summarises what the reflog keeps without changing anything (for status).
func Kept(node *core.IpfsNode, log *reflog.Log) (*Summary, error) {
	_, sum, err := collect(node, log)
	return sum, err
}

// collect lists the CIDs of the entries younger than the node's retention period (for reads
// of network content, its ReadsPeriod).
func collect(node *core.IpfsNode, log *reflog.Log) ([]*ipld.Link, *Summary, error) {
	period, err := Period(node)
	if err != nil {
		return nil, nil, err
	}
	reads, err := ReadsPeriod(node)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	named, err := log.Named(func(e reflog.Entry) bool {
		if e.Op == reflog.Read && fromNetwork(e.Path) {
			return now.Sub(e.Time) < reads
		}
		return now.Sub(e.Time) <= period
	})
	if err != nil {
		return nil, nil, err
	}
	links := make([]*ipld.Link, 0, len(named))
	sum := &Summary{Period: formatPeriod(period)}
	for _, n := range named {
		c, err := cid.Decode(n.Cid)
		if err != nil {
			continue // not a CID: names nothing to keep
		}
		links = append(links, &ipld.Link{Name: c.String(), Cid: c, Size: n.Size})
		sum.Cids++
		sum.Bytes += n.Size
	}
	return links, sum, nil
}

// fromNetwork reports whether an entry's path names content peers serve (iptf://ipfs, ipns).
func fromNetwork(path string) bool {
	u, err := uri.Parse(path)
	return err == nil && (u.Namespace == uri.IPFS || u.Namespace == uri.IPNS)
}
