package lifecycle

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/plugin"
)

var log = logging.Logger("iptf/lifecycle")

const (
	// EnvOnDemand is set to "1" in the environment of a node started on demand.
	EnvOnDemand = "IPTF_ON_DEMAND"
	// EnvIdleTimeout overrides the idle time after which an on-demand node stops.
	EnvIdleTimeout = "IPTF_IDLE_TIMEOUT"
	// DefaultIdleTimeout applies when neither the environment nor the config sets one.
	DefaultIdleTimeout = 10 * time.Minute
)

// StartedOnDemand reports whether this process is a node started on demand.
func StartedOnDemand() bool { return os.Getenv(EnvOnDemand) == "1" }

// ParseTimeout reads a duration such as "90s" or "10m"; a bare number means seconds.
func ParseTimeout(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("invalid idle timeout %q: use a duration such as 90s or 10m", s)
}

// IdlePlugin reads the idle timeout after which a node started on demand stops: from
// Plugins.Plugins.iptf.Config.IdleTimeout or $IPTF_IDLE_TIMEOUT. (StopWhenIdle watches.)
type IdlePlugin struct {
	Timeout time.Duration
}

var _ plugin.Plugin = (*IdlePlugin)(nil)

// idlePlugin is the instance loaded into the process: the timeout is the process's setting.
var idlePlugin = &IdlePlugin{Timeout: DefaultIdleTimeout}

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{idlePlugin}

// IdleTimeout is the idle time after which this node stops when started on demand.
func IdleTimeout() time.Duration { return idlePlugin.Timeout }

// Name implements plugin.Plugin.
func (p *IdlePlugin) Name() string { return "iptf" }

// Version implements plugin.Plugin.
func (p *IdlePlugin) Version() string { return "0.1.0" }

// Init reads the idle timeout from the environment or the plugin's config.
func (p *IdlePlugin) Init(env *plugin.Environment) error {
	p.Timeout = DefaultIdleTimeout
	if cfg, ok := env.Config.(map[string]any); ok {
		if s, ok := cfg["IdleTimeout"].(string); ok && s != "" {
			d, err := ParseTimeout(s)
			if err != nil {
				return err
			}
			p.Timeout = d
		}
	}
	if s := os.Getenv(EnvIdleTimeout); s != "" {
		d, err := ParseTimeout(s)
		if err != nil {
			return err
		}
		p.Timeout = d
	}
	return nil
}

// StopWhenIdle stops this process once a has been idle for the idle timeout, when the node
// was started on demand; it returns at once otherwise, or when ctx ends.
func StopWhenIdle(ctx context.Context, a *Activity) {
	timeout := IdleTimeout()
	if !StartedOnDemand() || timeout <= 0 {
		return
	}
	tick := time.NewTicker(min(max(timeout/10, 100*time.Millisecond), 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if idle := a.IdleFor(); idle >= timeout {
			fmt.Printf("IPTF node idle for %s, stopping\n", idle.Round(time.Second))
			log.Infof("idle for %s, stopping", idle)
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			return
		}
	}
}
