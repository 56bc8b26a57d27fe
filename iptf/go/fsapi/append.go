package fsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/config"
	"github.com/ipfs/kubo/core/coreiface/options"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/extend"
	"iptf.io/node/staging"
)

// importStaged imports a staged file's content and returns its CID, the CID `ipfs add` gives
// for it. A file staged after a base (an append, a flush of a file still being written) extends
// the base's DAG when the repo's import settings allow, so its cost follows the new bytes;
// otherwise the base's content and the staged bytes are imported together. A whole file is
// imported by the same leaf and tree builder when the settings allow (no command, no adder per
// file: a directory of small files costs what their bytes cost), else by kubo's add.
func (fs *FS) importStaged(ctx context.Context, staged staging.File) (cid.Cid, error) {
	if staged.Base == "" {
		return fs.importWhole(ctx, staged)
	}
	base, err := cid.Decode(staged.Base)
	if err != nil {
		return cid.Undef, err
	}
	if params, ok := fs.extendParams(); ok {
		more, _, err := staged.Open()
		if err != nil {
			return cid.Undef, err
		}
		nd, err := fs.Extender.Extend(ctx, fs.Node.DAG, params, base, more)
		more.Close()
		if !errors.Is(err, extend.ErrNotExtensible) {
			if err != nil {
				return cid.Undef, err
			}
			return nd.Cid(), nil
		}
	}
	before, err := fs.API.Unixfs().Get(ctx, path.FromCid(base))
	if err != nil {
		return cid.Undef, err
	}
	defer before.Close()
	prefix, ok := before.(files.File)
	if !ok {
		return cid.Undef, fmt.Errorf("the base %s is not a file", base)
	}
	more, _, err := staged.Open()
	if err != nil {
		return cid.Undef, err
	}
	defer more.Close()
	return addReader(ctx, fs.Env, filepath.Base(staged.Path), io.MultiReader(prefix, more))
}

// importWhole imports a staged file that follows no base.
func (fs *FS) importWhole(ctx context.Context, staged staging.File) (cid.Cid, error) {
	params, ok := fs.extendParams()
	if !ok {
		return importWithAdd(ctx, fs.Env, staged)
	}
	content, _, err := staged.Open()
	if err != nil {
		return cid.Undef, err
	}
	defer content.Close()
	nd, err := fs.Extender.Import(ctx, fs.Node.DAG, params, content)
	if err != nil {
		return cid.Undef, err
	}
	return nd.Cid(), nil
}

// extendParams are the settings `ipfs add` uses in this repo (its Import.* config, read as the
// add command reads it), when they allow extending a file leaf by leaf: a balanced layout over
// fixed-size chunks, no inlined blocks.
func (fs *FS) extendParams() (extend.Params, bool) {
	cfg, err := fs.Node.Repo.Config()
	if err != nil {
		return extend.Params{}, false
	}
	imp := cfg.Import
	if imp.UnixFSDAGLayout.WithDefault(config.DefaultUnixFSDAGLayout) != config.DAGLayoutBalanced {
		return extend.Params{}, false
	}
	hash, ok := mh.Names[strings.ToLower(imp.HashFunction.WithDefault(config.DefaultHashFunction))]
	if !ok {
		return extend.Params{}, false
	}
	chunker := imp.UnixFSChunker.WithDefault(config.DefaultUnixFSChunker)
	opts := []options.UnixfsAddOption{options.Unixfs.Hash(hash), options.Unixfs.Chunker(chunker)}
	if !imp.CidVersion.IsDefault() {
		opts = append(opts, options.Unixfs.CidVersion(int(imp.CidVersion.WithDefault(config.DefaultCidVersion))))
	}
	if imp.UnixFSRawLeaves != config.Default {
		opts = append(opts, options.Unixfs.RawLeaves(imp.UnixFSRawLeaves.WithDefault(config.DefaultUnixFSRawLeaves)))
	}
	if !imp.UnixFSFileMaxLinks.IsDefault() {
		opts = append(opts, options.Unixfs.MaxFileLinks(int(imp.UnixFSFileMaxLinks.WithDefault(config.DefaultUnixFSFileMaxLinks))))
	}
	settings, prefix, err := options.UnixfsAddOptions(opts...)
	if err != nil || settings.Inline || settings.Layout != options.BalancedLayout {
		return extend.Params{}, false
	}
	size, ok := fixedChunkSize(settings.Chunker)
	if !ok {
		return extend.Params{}, false
	}
	return extend.Params{ChunkSize: size, RawLeaves: settings.RawLeaves, MaxLinks: settings.MaxFileLinks,
		Prefix: prefix}, true
}

// fixedChunkSize reads a size chunker's setting ("size-262144"); content-defined chunkers
// (rabin, buzhash) cut where the content says, so a file cannot be extended leaf by leaf.
func fixedChunkSize(chunker string) (int64, bool) {
	if chunker == "" || chunker == "default" {
		chunker = "size-262144"
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(chunker, "size-"), 10, 64)
	if !strings.HasPrefix(chunker, "size-") || err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
