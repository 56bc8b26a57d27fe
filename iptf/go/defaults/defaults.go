// Package defaults holds IPTF's departures from kubo's configuration and applies them to a repo.
package defaults

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ipfs/boxo/autoconf"
	"github.com/ipfs/kubo/config"
	serialize "github.com/ipfs/kubo/config/serialize"

	"iptf.io/node/repodir"
)

// Apply rewrites the repo's configuration with IPTF's defaults:
//   - the RPC API listens only on a Unix socket inside the repo;
//   - no HTTP gateway is opened (serving is asked for explicitly);
//   - telemetry is disabled and AutoConf is off, its "auto" placeholders replaced by
//     the fixed lists kubo ships (public bootstrap peers stay for non-test repos).
func Apply(repo string) error {
	if err := repodir.CheckSocketPath(repo); err != nil {
		return err
	}
	file := filepath.Join(repo, "config")
	cfg, err := serialize.Load(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	Transform(cfg, repo)
	if err := serialize.WriteConfigFile(file, cfg); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// Transform applies IPTF's defaults to cfg for the repo at repo.
func Transform(cfg *config.Config, repo string) {
	cfg.Addresses.API = config.Strings{"/unix" + repodir.APISocket(repo)}
	cfg.Addresses.Gateway = config.Strings{}

	if cfg.Plugins.Plugins == nil {
		cfg.Plugins.Plugins = map[string]config.Plugin{}
	}
	cfg.Plugins.Plugins["telemetry"] = config.Plugin{Disabled: true}

	cfg.AutoConf.Enabled = config.False
	cfg.Bootstrap = expandAuto(cfg.Bootstrap, autoconf.FallbackBootstrapPeers)
	cfg.Routing.DelegatedRouters = expandAuto(cfg.Routing.DelegatedRouters, nil)
	cfg.Ipns.DelegatedPublishers = expandAuto(cfg.Ipns.DelegatedPublishers, nil)
	for domain, resolver := range cfg.DNS.Resolvers {
		if resolver == config.AutoPlaceholder {
			delete(cfg.DNS.Resolvers, domain)
		}
	}
}

// expandAuto replaces the "auto" placeholder in list with fixed.
func expandAuto(list []string, fixed []string) []string {
	if !slices.Contains(list, config.AutoPlaceholder) {
		return list
	}
	out := make([]string, 0, len(list)+len(fixed))
	for _, v := range list {
		if v == config.AutoPlaceholder {
			out = append(out, fixed...)
		} else {
			out = append(out, v)
		}
	}
	return out
}
