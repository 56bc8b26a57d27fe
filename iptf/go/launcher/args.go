package launcher

import (
	"reflect"
	"strings"

	cmds "github.com/ipfs/go-ipfs-cmds"
)

// invocation is what the launcher needs to know of a command line before kubo parses it.
type invocation struct {
	path    []string          // command names, e.g. ["files", "write"]
	command *cmds.Command     // the command they name; nil when unknown
	options map[string]string // options given, by every one of their names
}

// parseInvocation walks the command line along root's command tree the way kubo's parser
// does: options may come anywhere; an option that is not boolean takes the next word unless
// written as --name=value.
func parseInvocation(root *cmds.Command, args []string) invocation {
	inv := invocation{command: root, options: map[string]string{}}
	known := map[string]cmds.Option{}
	addOptions := func(c *cmds.Command) {
		for _, o := range c.Options {
			for _, n := range o.Names() {
				known[n] = o
			}
		}
	}
	addOptions(root)
	descending := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			opt := known[name]
			if !hasValue {
				value = "true"
				if opt != nil && opt.Type() != reflect.Bool && i+1 < len(args) {
					i++
					value = args[i]
				}
			}
			if opt != nil {
				for _, n := range opt.Names() {
					inv.options[n] = value
				}
			} else {
				inv.options[name] = value
			}
			continue
		}
		if !descending {
			continue
		}
		sub := inv.command.Subcommands[a]
		if sub == nil {
			descending = false
			if len(inv.path) == 0 {
				inv.command = nil
			}
			continue
		}
		inv.path = append(inv.path, a)
		inv.command = sub
		addOptions(sub)
	}
	if len(inv.path) == 0 && inv.command == root {
		inv.command = nil
	}
	return inv
}

func (inv invocation) has(option string) bool {
	_, ok := inv.options[option]
	return ok
}

func (inv invocation) first() string {
	if len(inv.path) == 0 {
		return ""
	}
	return inv.path[0]
}
