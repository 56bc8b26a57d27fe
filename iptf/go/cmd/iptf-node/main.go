// Command iptf-node is the IPTF node: kubo's full command set and daemon, with IPTF's
// repo location, defaults, on-demand lifecycle and commands.
package main

import (
	"os"

	"iptf.io/node/launcher"
)

func main() {
	os.Exit(launcher.Main(os.Args[1:]))
}
