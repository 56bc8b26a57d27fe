// Package uri parses IPTF's iptf:// URIs into the node's namespaces and paths.
package uri

import (
	"fmt"
	gopath "path"
	"strings"

	"github.com/ipfs/boxo/ipns"
	"github.com/miekg/dns"
)

// Scheme is the URI scheme TensorFlow sees.
const Scheme = "iptf://"

// Namespace is the part of IPTF a URI points into.
type Namespace string

// The namespaces.
const (
	IPFS Namespace = "ipfs" // immutable content: iptf://ipfs/<cid>[/path]
	IPNS Namespace = "ipns" // mutable names: iptf://ipns/<name>[/path]
	Repo Namespace = "repo" // the writable tree (the node's MFS): iptf://repo/root[/path]
	Meta Namespace = "meta" // JSON about a repo path: iptf://meta/repo/root[/path]
)

// RepoRoot is the prefix of the writable tree.
const RepoRoot = "repo/root"

// URI is a parsed iptf:// URI.
type URI struct {
	Raw       string
	Namespace Namespace
	// Path is the node's path: /ipfs/<cid>/..., /ipns/<name>/..., or the MFS path for
	// repo and meta URIs ("/" for the root). Never has a trailing slash except "/".
	Path string
}

// Error reports a URI that is not one of IPTF's.
type Error struct{ Raw, Why string }

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Raw, e.Why) }

// Parse reads an iptf:// URI.
func Parse(raw string) (URI, error) {
	rest, ok := strings.CutPrefix(raw, Scheme)
	if !ok {
		return URI{}, &Error{raw, "not an iptf:// URI"}
	}
	rest = strings.Trim(rest, "/")
	ns, tail, _ := strings.Cut(rest, "/")
	u := URI{Raw: raw, Namespace: Namespace(ns)}
	switch u.Namespace {
	case IPFS, IPNS:
		tail = strings.TrimLeft(tail, "/")
		if tail == "" {
			return URI{}, &Error{raw, "missing " + map[Namespace]string{IPFS: "CID", IPNS: "name"}[u.Namespace]}
		}
		root, _, _ := strings.Cut(tail, "/")
		inside := clean("/" + tail)
		if root == "." || root == ".." || inside != "/"+root && !strings.HasPrefix(inside, "/"+root+"/") {
			return URI{}, &Error{raw, "the path climbs above its " + map[Namespace]string{IPFS: "CID", IPNS: "name"}[u.Namespace]}
		}
		if u.Namespace == IPNS && !nameResolvable(root) {
			return URI{}, &Error{raw, fmt.Sprintf("%q is neither an IPNS name (a key's peer ID or CID) nor a DNS name", root)}
		}
		u.Path = "/" + ns + inside
	case Repo:
		p, err := repoPath(raw, rest)
		if err != nil {
			return URI{}, err
		}
		u.Path = p
	case Meta:
		p, err := repoPath(raw, tail)
		if err != nil {
			return URI{}, err
		}
		u.Path = p
	default:
		return URI{}, &Error{raw, "unknown namespace (use iptf://ipfs/, iptf://ipns/, iptf://repo/root/ or iptf://meta/repo/root/)"}
	}
	return u, nil
}

// nameResolvable reports whether the node's name system takes name: an IPNS name or, through
// DNSLink, a domain name (the same test it makes before resolving).
func nameResolvable(name string) bool {
	if _, err := ipns.NameFromString(name); err == nil {
		return true
	}
	_, ok := dns.IsDomainName(name)
	return ok
}

// repoPath turns "repo/root/a/b" into the MFS path "/a/b".
func repoPath(raw, rest string) (string, error) {
	if rest != RepoRoot && !strings.HasPrefix(rest, RepoRoot+"/") {
		return "", &Error{raw, "the writable tree is iptf://repo/root/"}
	}
	return clean("/" + strings.TrimPrefix(rest, RepoRoot)), nil
}

func clean(p string) string { return gopath.Clean(p) }

// String gives the canonical URI for a node path in the namespace.
func (u URI) String() string { return Format(u.Namespace, u.Path) }

// Format builds the canonical URI for a node path in a namespace.
func Format(ns Namespace, nodePath string) string {
	switch ns {
	case Repo:
		return Scheme + RepoRoot + strings.TrimSuffix(nodePath, "/")
	case Meta:
		return Scheme + string(Meta) + "/" + RepoRoot + strings.TrimSuffix(nodePath, "/")
	default:
		return Scheme + strings.TrimPrefix(nodePath, "/")
	}
}

// Child is the URI of an entry inside this directory URI.
func (u URI) Child(name string) URI {
	c := u
	c.Path = gopath.Join(u.Path, name)
	c.Raw = c.String()
	return c
}

// Writable reports whether the namespace accepts writes.
func (u URI) Writable() bool { return u.Namespace == Repo || u.Namespace == Meta }
