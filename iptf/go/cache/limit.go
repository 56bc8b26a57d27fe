package cache

import (
	"fmt"
	"os"

	"github.com/dustin/go-humanize"
	"github.com/ipfs/kubo/core"

	"iptf.io/node/staging"
)

// EnvMax overrides the repo config's limit ("20GB", "512MiB").
const EnvMax = "IPTF_CACHE_MAX"

// ConfigKey is the key in Plugins.Plugins.iptf.Config that sets the limit.
const ConfigKey = "CacheMax"

// minDefault is the smallest default limit: below it a repo on a nearly full disk would
// evict what it fetched before a reader got to it.
const minDefault = 256 << 20

// Limit is how many bytes of evictable content the repo may hold, and where that came from.
type Limit struct {
	Bytes uint64
	From  string // "IPTF_CACHE_MAX", "Plugins.Plugins.iptf.Config.CacheMax" or "default: …"
}

// LimitOf is the node's limit: $IPTF_CACHE_MAX, else the repo config's, else half of what the
// repo's filesystem has free plus what the repo holds (so that a repo on a roomy disk caches
// much, and one on a small disk leaves half of what is left free).
func LimitOf(node *core.IpfsNode, used uint64) (Limit, error) {
	if s := os.Getenv(EnvMax); s != "" {
		n, err := humanize.ParseBytes(s)
		if err != nil {
			return Limit{}, fmt.Errorf("%s=%q: %w", EnvMax, s, err)
		}
		return Limit{Bytes: n, From: EnvMax}, nil
	}
	cfg, err := node.Repo.Config()
	if err != nil {
		return Limit{}, err
	}
	if plugin, ok := cfg.Plugins.Plugins["iptf"]; ok {
		m, _ := plugin.Config.(map[string]any)
		if s, _ := m[ConfigKey].(string); s != "" {
			n, err := humanize.ParseBytes(s)
			if err != nil {
				return Limit{}, fmt.Errorf("Plugins.Plugins.iptf.Config.%s: %q: %w", ConfigKey, s, err)
			}
			return Limit{Bytes: n, From: "Plugins.Plugins.iptf.Config." + ConfigKey}, nil
		}
	}
	free, err := staging.Free(node.Repo.Path())
	if err != nil {
		return Limit{}, err
	}
	n := max((uint64(max(free, 0))+used)/2, minDefault)
	return Limit{Bytes: n, From: "default: half the free disk and what the repo holds"}, nil
}
