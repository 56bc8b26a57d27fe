package fsapi

import (
	"context"
	"errors"
	"io"
	"path/filepath"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	cmds "github.com/ipfs/go-ipfs-cmds"
	corecmds "github.com/ipfs/kubo/core/commands"

	"iptf.io/node/staging"
)

// importWithAdd imports a staged file's content exactly as `ipfs add` does with default flags
// (so the repo's Import.* settings apply) by running kubo's own add command, and returns its CID.
func importWithAdd(ctx context.Context, env cmds.Environment, file staging.File) (cid.Cid, error) {
	content, _, err := file.Open()
	if err != nil {
		return cid.Undef, err
	}
	defer content.Close()
	return addReader(ctx, env, filepath.Base(file.Path), content)
}

// addReader imports content as `ipfs add` does (see importWithAdd).
func addReader(ctx context.Context, env cmds.Environment, name string, content io.Reader) (cid.Cid, error) {
	node := files.NewReaderFile(content)
	dir := files.NewMapDirectory(map[string]files.Node{name: node})
	opts := cmds.OptMap{"quieter": true, "pin": false, "progress": false}
	req, err := cmds.NewRequest(ctx, []string{"add"}, opts, nil, dir, corecmds.Root)
	if err != nil {
		return cid.Undef, err
	}
	if err := req.FillDefaults(); err != nil {
		return cid.Undef, err
	}
	re, res := cmds.NewChanResponsePair(req)
	go func() {
		if err := cmds.NewExecutor(corecmds.Root).Execute(req, re, env); err != nil {
			_ = re.CloseWithError(err)
		}
	}()
	var hash string
	for {
		v, err := res.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return cid.Undef, err
		}
		if ev, ok := v.(*corecmds.AddEvent); ok && ev.Hash != "" {
			hash = ev.Hash
		}
	}
	if hash == "" {
		return cid.Undef, errors.New("add produced no CID")
	}
	return cid.Decode(hash)
}
