package fsapi

import (
	"context"
	gopath "path"
	"strings"

	"iptf.io/node/protocol"
	"iptf.io/node/uri"
)

// fixedSegments is how many leading segments of each namespace never hold a pattern.
var fixedSegments = map[uri.Namespace]int{uri.IPFS: 2, uri.IPNS: 2, uri.Repo: 2, uri.Meta: 3}

// Glob returns the URIs matching pattern, whose segments after the namespace may use the
// wildcards of path.Match (*, ?, [...]).
func (fs *FS) Glob(ctx context.Context, pattern string) ([]string, error) {
	rest, ok := strings.CutPrefix(pattern, uri.Scheme)
	if !ok {
		return nil, errorf(InvalidArgument, pattern, "not an iptf:// URI")
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	fixed := fixedSegments[uri.Namespace(segs[0])]
	if fixed == 0 || len(segs) < fixed {
		_, err := parse(pattern)
		return nil, err
	}
	if ns := uri.Namespace(segs[0]); ns == uri.Repo || ns == uri.Meta {
		if err := fs.settleAll(ctx, pattern); err != nil {
			return nil, err
		}
	}
	for _, s := range segs {
		if _, err := gopath.Match(s, ""); err != nil {
			return nil, errorf(InvalidArgument, pattern, "bad pattern: %s", err)
		}
	}
	base := uri.Scheme + strings.Join(segs[:fixed], "/")
	matches := []string{}
	err := fs.globFrom(ctx, base, segs[fixed:], &matches)
	return matches, err
}

func (fs *FS) globFrom(ctx context.Context, base string, segs []string, out *[]string) error {
	if len(segs) == 0 {
		if _, err := fs.Stat(ctx, base); err == nil {
			*out = append(*out, base)
		}
		return nil
	}
	if !strings.ContainsAny(segs[0], `*?[\`) {
		return fs.globFrom(ctx, base+"/"+segs[0], segs[1:], out)
	}
	entries, err := fs.List(ctx, base)
	if err != nil {
		return nil // a missing or non-directory base matches nothing
	}
	for _, e := range entries {
		if ok, _ := gopath.Match(segs[0], e.Name); ok {
			if len(segs) > 1 && e.Type != protocol.TypeDirectory {
				continue
			}
			if err := fs.globFrom(ctx, base+"/"+e.Name, segs[1:], out); err != nil {
				return err
			}
		}
	}
	return nil
}
