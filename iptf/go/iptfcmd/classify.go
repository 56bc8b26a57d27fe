package iptfcmd

import (
	"errors"

	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/fsapi"
)

// Classify wraps every command under c so that each error it returns starts with its class
// ("<Code>: ", see fsapi.Code): the plugin and the Python client read that class and never
// guess it from the text. Errors kubo's command library raises before a command runs (a
// malformed option) do not pass here; the plugin and the client never send those.
func Classify(c *cmds.Command) {
	wrap(c, func(err error) error {
		if ce, ok := usageError(err); ok {
			return ce
		}
		return fsapi.Classify("", err)
	})
}

// ClassifyKnown wraps kubo's own commands that IPTF's clients run (add): an error whose class
// is known gets its prefix; any other keeps kubo's text, which clients take as Internal.
func ClassifyKnown(c *cmds.Command) {
	wrap(c, func(err error) error {
		if ce, ok := usageError(err); ok {
			return ce
		}
		if e := fsapi.Classify("", err); e.Code != fsapi.Internal {
			return e
		}
		return err
	})
}

// usageError keeps a usage error (cmds.ErrClient: HTTP 400) one, with its class in front.
// The command library makes them as values (cmds.Errorf) and as pointers.
func usageError(err error) (error, bool) {
	var ce cmds.Error
	var pce *cmds.Error
	switch {
	case errors.As(err, &ce):
	case errors.As(err, &pce):
		ce = *pce
	default:
		return nil, false
	}
	if ce.Code != cmds.ErrClient {
		return nil, false
	}
	e := &fsapi.Error{Code: fsapi.InvalidArgument, Why: ce.Message}
	return cmds.Error{Message: e.Error(), Code: cmds.ErrClient}, true
}

func wrap(c *cmds.Command, classify func(error) error) {
	if run := c.Run; run != nil {
		c.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
			if err := run(req, re, env); err != nil {
				return classify(err)
			}
			return nil
		}
	}
	for _, sub := range c.Subcommands {
		wrap(sub, classify)
	}
}
