package launcher

import (
	"os"
	"slices"

	"golang.org/x/term"
)

// withProgress turns on `pin add`'s progress when its output goes to a terminal and the user
// did not say: pinning a dataset fetches all of it, which is long work (add and get show
// their progress on a terminal by themselves).
func withProgress(inv invocation, args []string) []string {
	if !slices.Equal(inv.path, []string{"pin", "add"}) || inv.has("progress") || !term.IsTerminal(int(os.Stderr.Fd())) {
		return args
	}
	for i := 0; i+1 < len(args) && args[i] != "--"; i++ {
		if args[i] == "pin" && args[i+1] == "add" {
			return slices.Insert(slices.Clone(args), i+2, "--progress")
		}
	}
	return args
}
