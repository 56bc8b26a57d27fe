package blockmap

import (
	"encoding/json"
	"os"
	"path/filepath"

	dshelp "github.com/ipfs/boxo/datastore/dshelp"
	"github.com/ipfs/go-cid"
	flatfs "github.com/ipfs/go-ds-flatfs"
)

// Locator turns a block's CID into the path of the file holding it in a flatfs blockstore.
// A repo whose blocks are not kept in flatfs gets a Locator that locates nothing.
type Locator struct {
	dir   string
	shard flatfs.ShardFunc
}

// datastoreSpec is the part of the repo's datastore_spec file the locator reads.
type datastoreSpec struct {
	Mounts []struct {
		Mountpoint string `json:"mountpoint"`
		Type       string `json:"type"`
		Path       string `json:"path"`
	} `json:"mounts"`
}

// NewLocator reads the repo's datastore layout and returns a Locator for it.
func NewLocator(repo string) *Locator {
	raw, err := os.ReadFile(filepath.Join(repo, "datastore_spec"))
	if err != nil {
		return &Locator{}
	}
	var spec datastoreSpec
	if json.Unmarshal(raw, &spec) != nil {
		return &Locator{}
	}
	for _, m := range spec.Mounts {
		if m.Mountpoint != "/blocks" || m.Type != "flatfs" {
			continue
		}
		dir := m.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(repo, dir)
		}
		id, err := flatfs.ReadShardFunc(dir)
		if err != nil {
			return &Locator{}
		}
		return &Locator{dir: dir, shard: id.Func()}
	}
	return &Locator{}
}

// File returns the path of the file holding the block c, or "" when blocks are not files.
func (l *Locator) File(c cid.Cid) string {
	if l.shard == nil {
		return ""
	}
	name := dshelp.MultihashToDsKey(c.Hash()).String()[1:]
	return filepath.Join(l.dir, l.shard(name), name+".data")
}
