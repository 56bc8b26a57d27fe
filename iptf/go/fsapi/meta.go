// iptf://meta/: JSON about a tree path, and the commands written to it.

package fsapi

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/kubo/core/coreiface/options"

	"iptf.io/node/protocol"
	"iptf.io/node/staging"
	"iptf.io/node/uri"
)

// meta describes a repo path: its CID now, and its path under the node's own IPNS name.
type meta struct {
	IpfsPath string
	IpnsPath string
}

func (fs *FS) metaJSON(ctx context.Context, u uri.URI) ([]byte, error) {
	fsn, err := fs.lookup(u.Path)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	nd, err := fsn.GetNode()
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	ipns := uri.Scheme + "ipns/" + fs.Node.Identity.String()
	if u.Path != "/" {
		ipns += u.Path
	}
	return json.Marshal(meta{IpfsPath: uri.Scheme + "ipfs/" + nd.Cid().String(), IpnsPath: ipns})
}

// metaCommand runs a command written to a meta URI.
func (fs *FS) metaCommand(ctx context.Context, u uri.URI, staged staging.File) (*protocol.Written, error) {
	if _, err := fs.lookup(u.Path); err != nil {
		return nil, classify(u.Raw, err) // a command names the tree at an existing path
	}
	body, err := readSmall(staged)
	if err != nil {
		return nil, errorf(InvalidArgument, u.Raw, "%s", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return &protocol.Written{Uri: u.String()}, nil // opening for write stages nothing yet
	}
	var cmd struct {
		Command string `json:"command"`
	}
	if err := json.Unmarshal(body, &cmd); err != nil {
		return nil, errorf(InvalidArgument, u.Raw, `write JSON such as {"command": "publish"}`)
	}
	if cmd.Command != "publish" {
		return nil, errorf(InvalidArgument, u.Raw, "unknown command %q (known: publish)", cmd.Command)
	}
	fs.tree.Lock()
	root, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, "/")
	fs.tree.Unlock()
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	name, err := fs.API.Name().Publish(ctx, path.FromCid(root.Cid()), options.Name.AllowOffline(true))
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	return &protocol.Written{Uri: u.String(), Cid: root.Cid().String(), Name: uri.Scheme + "ipns/" + name.String()}, nil
}

func readSmall(file staging.File) ([]byte, error) {
	f, _, err := file.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64*1024))
}
