// Command izaber-wamp is the izaber-wamp command-line tool: WAMP calls,
// events and registrations and the Nexus services from the shell, plus a
// local router and a benchmark. Run "izaber-wamp help" for its commands.
//
// The command line is parsed by github.com/spf13/cobra, which gives the
// conventions of the Go command-line tools people know (gh, kubectl): help
// on stdout, "help COMMAND", --version, did-you-mean and shell completion.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit status; ctx
// ends on SIGINT or SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(markNegativeNumbers(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	var code exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	}
	// Anything else is a bad command line, found by the parser or by a
	// command before it did anything.
	printUsageError(stderr, cmd, err)
	return exitUsage
}

// Command groups of the top-level help.
const (
	groupWAMP  = "wamp"
	groupNexus = "nexus"
	groupTools = "tools"
)

// newRoot builds the command tree.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "izaber-wamp",
		Short: "the izaber-wamp command-line tool",
		Long: `Calls, publishes, subscribes and registers over WAMP and uses the Nexus
services from the shell; runs a local router for development.`,
		Args: cobra.ArbitraryArgs,
		// run prints errors, once, in its own short form.
		SilenceErrors: true,
		SilenceUsage:  true,
		Annotations:   map[string]string{annotationFooter: rootFooter},
	}
	cobra.EnableCommandSorting = false // commands in the order added: by use
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { printHelp(c.OutOrStdout(), c) })
	root.Flags().Bool("version", false, "print the version and exit")
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddGroup(
		&cobra.Group{ID: groupWAMP, Title: "WAMP"},
		&cobra.Group{ID: groupNexus, Title: "Nexus services"},
		&cobra.Group{ID: groupTools, Title: "Tools"},
	)
	a := &app{stdin: os.Stdin, stdout: stdout, stderr: stderr}
	for _, c := range []*cobra.Command{
		newCallCmd(a), newPublishCmd(a), newSubscribeCmd(a), newRegisterCmd(a),
		newWhoAmICmd(a), newRosterCmd(a), newMetadataCmd(a), newAPIKeysCmd(a), newOTPCmd(a),
		newConfigCmd(a), newRouterCmd(a), newBenchCmd(a), newVersionCmd(a), newCompletionCmd(a),
	} {
		root.AddCommand(c)
	}
	help := newHelpCmd()
	help.GroupID = groupTools
	root.SetHelpCommand(help)
	var initHelp func(*cobra.Command)
	initHelp = func(c *cobra.Command) { // so that "help X" lists X's -h, as "X -h" does
		c.InitDefaultHelpFlag()
		for _, sub := range c.Commands() {
			initHelp(sub)
		}
	}
	initHelp(root)
	root.RunE = func(c *cobra.Command, args []string) error {
		if v, _ := c.Flags().GetBool("version"); v && len(args) == 0 {
			fmt.Fprintf(stdout, "izaber-wamp %s\n", version())
			return nil
		}
		return groupRun(c, args)
	}
	return root
}

// app is what every command shares: the standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// newHelpCmd is "help [COMMAND...]": the help of the root or of a command,
// on stdout; an unknown topic is a usage error.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND...]",
		Short: "print the help of a command, or this list",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target := c.Root()
			for _, name := range args {
				next := findSub(target, name)
				if next == nil {
					return unknownCommand(target, name)
				}
				target = next
			}
			return target.Help()
		},
	}
}

// findSub returns parent's subcommand called name (or an alias), or nil.
func findSub(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// version is the module version from the build information: a tag such as
// v1.2.3 when installed with "go install ...@version", "(devel)" when built
// from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	return v
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the version",
		Args:    noArgs,
		GroupID: groupTools,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(a.stdout, "izaber-wamp %s\n", version())
			return nil
		},
	}
}

func newCompletionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "completion bash|zsh|fish|powershell",
		Short:   "print the shell completion script for bash, zsh, fish or PowerShell",
		GroupID: groupTools,
		Long: `Prints a script that makes the shell complete izaber-wamp's commands,
flags and flag values (--match, --serializer, --env, ...). Load it once
per shell, or install it where your shell loads completions from.`,
		Example: `  source <(izaber-wamp completion bash)     # bash, this shell
  izaber-wamp completion bash > /etc/bash_completion.d/izaber-wamp
  izaber-wamp completion zsh > "${fpath[1]}/_izaber-wamp"
  izaber-wamp completion fish > ~/.config/fish/completions/izaber-wamp.fish`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			var err error
			switch args[0] {
			case "bash":
				err = root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				err = root.GenZshCompletion(a.stdout)
			case "fish":
				err = root.GenFishCompletion(a.stdout, true)
			case "powershell":
				err = root.GenPowerShellCompletionWithDesc(a.stdout)
			}
			if err != nil {
				fmt.Fprintf(a.stderr, "izaber-wamp completion: %v\n", err)
				return exitError(exitWAMPError)
			}
			return nil
		},
	}
}

// rootFooter ends the top-level help.
const rootFooter = `
The client commands read izaber.yaml (., ~, then the user data directory;
--config FILE; the environment from --env or $IZABER_ENVIRONMENT), then
$IZABER_URL, $IZABER_REALM, $IZABER_USER, $IZABER_PASSWORD,
$IZABER_SERIALIZER, $IZABER_URI_BASE, $IZABER_AUTHMETHODS,
$IZABER_WAMPCRA_SECRET and $IZABER_CRYPTOSIGN_KEY_FILE, then flags.
Without a password they ask for one on a terminal.

Exit status: 0 ok, 1 WAMP error, 2 usage or configuration error,
3 connection or authentication failure, 130 interrupted.

First minute:
  izaber-wamp router --demo            # prints demo users and passwords
  export IZABER_URL=ws://127.0.0.1:8282/ws IZABER_USER=backend-1
  export IZABER_PASSWORD=<backend-1's password>
  izaber-wamp whoami
`
