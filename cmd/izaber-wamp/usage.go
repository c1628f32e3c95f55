package main

// The command-line conventions: help text (always on stdout), short
// usage errors with did-you-mean, and positional negative numbers.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitError ends a command with a status whose message, if any, has been
// printed already.
type exitError int

// Error says which status.
func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// status turns a command's exit code into what a cobra RunE returns.
func status(code int) error {
	if code == exitOK {
		return nil
	}
	return exitError(code)
}

// usageError is a bad command line found while running a command; run
// prints it like the parser's own errors.
type usageError struct{ msg string }

// Error is the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// printUsageError prints a bad command line as two lines: what is wrong
// and where to read more.
func printUsageError(w io.Writer, cmd *cobra.Command, err error) {
	fmt.Fprintf(w, "%s: %s\n", cmd.CommandPath(), strings.TrimSpace(err.Error()))
	fmt.Fprintf(w, "Run '%s' for usage.\n", helpCommandLine(cmd))
}

// helpCommandLine is the command that prints cmd's help.
func helpCommandLine(cmd *cobra.Command) string {
	root := cmd.Root()
	if cmd == root || cmd.Name() == "help" && cmd.Parent() == root {
		return root.Name() + " help"
	}
	return root.Name() + " help " + strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")
}

// flagError rewrites the flag parser's errors: an unknown flag names the
// likely intended one.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := suggestFlag(cmd.Flags(), name); s != "" {
			return usagef("unknown flag --%s; did you mean --%s?", name, s)
		}
		return usagef("unknown flag --%s", name)
	}
	if strings.HasPrefix(msg, "unknown shorthand flag: ") {
		// "unknown shorthand flag: 'x' in -x"
		_, arg, _ := strings.Cut(msg, " in ")
		hint := ""
		if cmd.Annotations[annotationTakesValues] != "" {
			hint = `; arguments starting with "-" go after "--"`
		}
		return usagef("unknown flag %s%s", arg, hint)
	}
	return &usageError{msg}
}

// suggestFlag returns the name of the flag of fs that name is most
// likely a misspelling of, or "".
func suggestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDist := "", 3 // at most two edits
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownCommand is the error for a command or verb that does not exist
// under parent, naming the closest ones (at most two edits away, or
// starting with name).
func unknownCommand(parent *cobra.Command, name string) error {
	var best []string
	bestDist := 3
	for _, c := range parent.Commands() {
		if !c.IsAvailableCommand() && c.Name() != "help" {
			continue
		}
		d := editDistance(name, c.Name())
		if len(name) >= 2 && strings.HasPrefix(c.Name(), name) {
			d = min(d, 1)
		}
		switch {
		case d < bestDist:
			best, bestDist = []string{c.Name()}, d
		case d == bestDist:
			best = append(best, c.Name())
		}
	}
	switch len(best) {
	case 0:
		return usagef("unknown command %q", name)
	case 1:
		return usagef("unknown command %q; did you mean %s?", name, best[0])
	}
	return usagef("unknown command %q; did you mean one of %s?", name, strings.Join(best, ", "))
}

// groupRun is the RunE of a command that only groups others (the root,
// roster, metadata, ...): without arguments it prints its help, else the
// first argument is an unknown command.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

// negativeMarker prefixes a positional negative number while the flag
// parser runs. The parser (pflag) takes "-5" for a shorthand flag; a
// command line cannot contain a NUL byte, so marked arguments are
// unambiguous.
const negativeMarker = "\x00"

// markNegativeNumbers marks the arguments that look like negative numbers
// (-5, -1.5, -.5) and are not the value of the flag before them, so that
// "izaber-wamp call example.add -2 -5" works without "--".
func markNegativeNumbers(root *cobra.Command, args []string) []string {
	if len(args) == 0 || strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		return args
	}
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	lookup := func(a string) *pflag.Flag {
		for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.InheritedFlags()} {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				if f := fs.Lookup(name); f != nil {
					return f
				}
			} else if len(a) == 2 {
				if f := fs.ShorthandLookup(a[1:]); f != nil {
					return f
				}
			}
		}
		return nil
	}
	out := make([]string, len(args))
	copy(out, args)
	takesValue := false
	for i, a := range args {
		switch {
		case a == "--":
			return out
		case takesValue:
			takesValue = false
		case negativeNumber(a):
			out[i] = negativeMarker + a
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			f := lookup(a)
			takesValue = f != nil && f.NoOptDefVal == ""
		}
	}
	return out
}

// negativeNumber reports whether s looks like a negative number rather
// than a flag: "-" then a digit or a dot.
func negativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	c := s[1]
	return c >= '0' && c <= '9' || c == '.'
}

// unmark undoes markNegativeNumbers on a command's positional arguments.
func unmark(args []string) []string {
	for i, a := range args {
		args[i] = strings.TrimPrefix(a, negativeMarker)
	}
	return args
}

// Flag groups in help output, set as an annotation on each shared flag.
const (
	annotationGroup       = "izaber-wamp/group"
	groupConnection       = "connection"
	annotationTakesValues = "izaber-wamp/values" // on commands whose arguments are payload values
)

// printHelp writes cmd's help: usage line, description, examples,
// commands, flags and connection flags.
func printHelp(w io.Writer, cmd *cobra.Command) {
	var b strings.Builder
	if cmd.HasParent() {
		fmt.Fprintf(&b, "Usage: %s\n", cmd.UseLine())
	} else {
		fmt.Fprintf(&b, "Usage: %s <command> [flags]\n", cmd.Name())
	}
	if long := strings.TrimSpace(cmd.Long); long != "" {
		b.WriteString("\n" + long + "\n")
	} else {
		b.WriteString("\n" + sentence(cmd.Short) + "\n")
	}
	if ex := strings.TrimRight(cmd.Example, " \n"); ex != "" {
		b.WriteString("\nExamples:\n" + strings.TrimLeft(ex, "\n") + "\n")
	}
	if cmd.HasAvailableSubCommands() {
		writeCommands(&b, cmd)
	}
	own, conn := pflag.NewFlagSet("", pflag.ContinueOnError), pflag.NewFlagSet("", pflag.ContinueOnError)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if g := f.Annotations[annotationGroup]; len(g) > 0 && g[0] == groupConnection {
			conn.AddFlag(f)
		} else {
			own.AddFlag(f)
		}
	})
	if own.HasFlags() {
		b.WriteString("\nFlags:\n" + own.FlagUsagesWrapped(100))
	}
	if conn.HasFlags() {
		b.WriteString("\nConnection flags (over izaber.yaml and $IZABER_*; see '" + cmd.Root().Name() + " help config'):\n" + conn.FlagUsagesWrapped(100))
	}
	if foot := cmd.Annotations[annotationFooter]; foot != "" {
		b.WriteString("\n" + strings.TrimSpace(foot) + "\n")
	}
	io.WriteString(w, b.String())
}

// annotationFooter is text printed at the end of a command's help.
const annotationFooter = "izaber-wamp/footer"

// writeCommands lists cmd's subcommands, by group when it has groups.
func writeCommands(b *strings.Builder, cmd *cobra.Command) {
	width := 0
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			width = max(width, len(c.Name()))
		}
	}
	list := func(title, group string) {
		first := true
		for _, c := range cmd.Commands() {
			if !(c.IsAvailableCommand() || c.Name() == "help") || c.GroupID != group {
				continue
			}
			if first {
				fmt.Fprintf(b, "\n%s:\n", title)
				first = false
			}
			fmt.Fprintf(b, "  %-*s  %s\n", width, c.Name(), c.Short)
		}
	}
	if len(cmd.Groups()) == 0 {
		list("Commands", "")
	} else {
		for _, g := range cmd.Groups() {
			list(g.Title, g.ID)
		}
		list("Other commands", "")
	}
	fmt.Fprintf(b, "\nRun '%s <command>' for a command's flags and examples.\n", helpCommandLine(cmd))
}

// noArgs is the Args of commands that take no arguments: an argument is a
// usage error, named as a mistyped subcommand when the command has some.
func noArgs(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case cmd.HasAvailableSubCommands():
		return unknownCommand(cmd, args[0])
	}
	return usagef("unexpected arguments %q", unmark(slices.Clone(args)))
}
