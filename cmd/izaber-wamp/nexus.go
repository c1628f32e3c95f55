package main

// The Nexus service commands: whoami, roster, metadata, apikeys, otp.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/zabertech/go-izaber-wamp/izaber"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

func init() {
	commands["whoami"] = command{summary: "print the authid and role Nexus sees for this login", run: runWhoAmI}
	commands["roster"] = command{summary: "roster entries: register, unregister, query", run: runRoster}
	commands["metadata"] = command{summary: "the user's metadata: get, set, list, delete", run: runMetadata}
	commands["apikeys"] = command{summary: "the user's API keys: create, list, delete", run: runAPIKeys}
	commands["otp"] = command{summary: "the user's one-time passwords: create, list, delete", run: runOTP}
}

// subcommand is one verb of a command group.
type subcommand struct {
	usage   string // after "izaber-wamp GROUP VERB"
	summary string
	nargs   [2]int // min and max positional arguments (-1: no max)
	help    string // description and examples
	flags   func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int
	// longLived keeps reconnection on (the verb holds its session).
	longLived bool
}

// runGroup dispatches "GROUP VERB ...".
func runGroup(ctx context.Context, group, summary string, verbs map[string]subcommand, order []string, args []string, stdout, stderr io.Writer) int {
	groupUsage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: izaber-wamp %s <%s> [flags]\n\n%s\n\n", group, strings.Join(order, "|"), summary)
		for _, v := range order {
			fmt.Fprintf(w, "  %-10s %s\n", v, verbs[v].summary)
		}
		fmt.Fprintf(w, "\nRun \"izaber-wamp %s <verb> -h\" for a verb's flags and examples.\n", group)
	}
	if len(args) == 0 {
		groupUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		groupUsage(stdout)
		return exitOK
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "izaber-wamp %s: unknown verb %q\n\n", group, args[0])
		groupUsage(stderr)
		return exitUsage
	}
	name := group + " " + args[0]
	e := newEnv(name, stdout, stderr, name+" "+v.usage, v.summary+".\n\n"+strings.TrimSpace(v.help))
	e.conn.register(e.fs)
	run := v.flags(e)
	pos, rest, _, code, ok := e.parse(args[1:])
	if !ok {
		return code
	}
	pos = append(pos, rest...)
	if len(pos) < v.nargs[0] {
		return e.usageErr("missing arguments (usage: izaber-wamp %s %s)", name, v.usage)
	}
	if v.nargs[1] >= 0 && len(pos) > v.nargs[1] {
		return e.usageErr("unexpected arguments %q (usage: izaber-wamp %s %s)", pos[v.nargs[1]:], name, v.usage)
	}
	c, code := e.connect(ctx, v.longLived)
	if c == nil {
		return code
	}
	defer e.close(c)
	return run(ctx, c, pos)
}

// show prints v as JSON or reports err.
func (e *env) show(ctx context.Context, v any, err error) int {
	if err != nil {
		return e.requestErr(ctx, err)
	}
	if err := e.printJSON(v); err != nil {
		return e.errorf(exitWAMPError, "cannot print the result: %v", err)
	}
	return exitOK
}

func runWhoAmI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := newEnv("whoami", stdout, stderr, "whoami [flags]", `
Prints {"authid", "role"} as Nexus sees this login (auth.whoami), which
checks the connection settings and credentials in one go.

examples:
  izaber-wamp whoami
  IZABER_USER=backend-1 izaber-wamp whoami --url ws://127.0.0.1:8282/ws`)
	e.conn.register(e.fs)
	pos, rest, _, code, ok := e.parse(args)
	if !ok {
		return code
	}
	if len(pos)+len(rest) > 0 {
		return e.usageErr("unexpected arguments %q", append(pos, rest...))
	}
	c, code := e.connect(ctx, false)
	if c == nil {
		return code
	}
	defer e.close(c)
	me, err := c.WhoAmI(ctx)
	return e.show(ctx, me, err)
}

func runRoster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := map[string]subcommand{
		"register": {
			usage: "KEY [DATA] [--visibility ROLE|JSON] [--for DURATION] [flags]", summary: "add this session's entry to a roster and keep it until Ctrl-C",
			nargs: [2]int{1, 2}, longLived: true,
			help: `
Nexus drops a session's roster entries when the session ends, so this
command prints the stored record and then keeps the session (and the
entry) until Ctrl-C or until --for has passed. DATA is parsed like call's
arguments (JSON, else a string).

examples:
  izaber-wamp roster register roster.example.backend-1.test '{"random": "data"}'
  izaber-wamp roster register --visibility '["backend"]' --for 10m status.workers '{"pid": 42}'`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				vis := e.fs.String("visibility", "", `who may see the entry: a role, "*" or a JSON list of roles (default "*")`)
				hold := e.fs.Duration("for", 0, "keep the entry this long, then leave (default: until Ctrl-C)")
				asString := e.fs.Bool("s", false, "take DATA as a string, never as JSON")
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					var data, visibility any
					if len(pos) > 1 {
						data = parseValue(pos[1], *asString)
					}
					if *vis != "" {
						visibility = parseValue(*vis, false)
					}
					rec, err := c.RosterRegister(ctx, pos[0], data, visibility)
					if code := e.show(ctx, rec, err); code != exitOK {
						return code
					}
					if *hold <= 0 && terminal(e.stderr) {
						e.errorf(0, "holding the entry; Ctrl-C to remove it and leave")
					}
					return e.hold(ctx, c, *hold)
				}
			},
		},
		"unregister": {
			usage: "KEY [flags]", summary: "remove this session's entry from a roster",
			nargs: [2]int{1, 1},
			help: `
Entries belong to the session that registered them and go away when it
ends; this removes the entry of this command's own session (a no-op for
others'), and checks that the key and the permission are accepted.

examples:
  izaber-wamp roster unregister roster.example.backend-1.test`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					err := c.RosterUnregister(ctx, pos[0])
					if err != nil {
						return e.requestErr(ctx, err)
					}
					return exitOK
				}
			},
		},
		"query": {
			usage: "KEY [flags]", summary: "print the data of every visible entry of a roster (a JSON list)",
			nargs: [2]int{1, 1},
			help: `
examples:
  izaber-wamp roster query roster.example.backend-1.test
  izaber-wamp roster query status.workers | jq length`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					l, err := c.RosterQuery(ctx, pos[0])
					if l == nil {
						l = []any{}
					}
					return e.show(ctx, l, err)
				}
			},
		},
	}
	return runGroup(ctx, "roster", "Nexus rosters: lists of entries that live as long as their session.", verbs, []string{"register", "unregister", "query"}, args, stdout, stderr)
}

func runMetadata(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := map[string]subcommand{
		"get": {
			usage: "KEY [flags]", summary: "print the value under KEY (null when there is none)", nargs: [2]int{1, 1},
			help: `
examples:
  izaber-wamp metadata get some.preference.key`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					v, err := c.MetadataGet(ctx, pos[0])
					return e.show(ctx, v, err)
				}
			},
		},
		"set": {
			usage: "KEY VALUE [--yaml] [flags]", summary: "store VALUE under KEY and print the stored value", nargs: [2]int{2, 2},
			help: `
VALUE is parsed like call's arguments: JSON when it is valid JSON, else a
string (-s keeps it a string). With --yaml, VALUE is YAML text that Nexus
parses.

examples:
  izaber-wamp metadata set some.preference.key '{"random": "data"}'
  izaber-wamp metadata set ui.theme dark
  izaber-wamp metadata set --yaml ui.layout "$(cat layout.yaml)"`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				yaml := e.fs.Bool("yaml", false, "VALUE is YAML text for Nexus to parse")
				asString := e.fs.Bool("s", false, "take VALUE as a string, never as JSON")
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					var value any = pos[1]
					if !*yaml {
						value = parseValue(pos[1], *asString)
					}
					v, err := c.MetadataSet(ctx, pos[0], value, *yaml)
					return e.show(ctx, v, err)
				}
			},
		},
		"list": {
			usage: "[flags]", summary: "print every metadata record of the user, by key", nargs: [2]int{0, 0},
			help: `
examples:
  izaber-wamp metadata list | jq 'keys'`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					d, err := c.MetadataList(ctx)
					return e.show(ctx, nonNilDict(d), err)
				}
			},
		},
		"delete": {
			usage: "KEY [flags]", summary: "delete the value under KEY", nargs: [2]int{1, 1},
			help: `
examples:
  izaber-wamp metadata delete some.preference.key`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					if err := c.MetadataDelete(ctx, pos[0]); err != nil {
						return e.requestErr(ctx, err)
					}
					return exitOK
				}
			},
		},
	}
	return runGroup(ctx, "metadata", "Nexus user metadata: persistent per-user key/value preferences.", verbs, []string{"get", "set", "list", "delete"}, args, stdout, stderr)
}

func runAPIKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := map[string]subcommand{
		"create": {
			usage: "[--description TEXT] [--expires WHEN] [--permissions JSON] [flags]", summary: "create an API key and print it, plaintext_key included (shown only now)", nargs: [2]int{0, 0},
			help: `
The printed plaintext_key logs in as this user in place of the password
(IZABER_PASSWORD=<key>). Store it now: it is not shown again.

examples:
  izaber-wamp apikeys create --description "build server"
  izaber-wamp apikeys create --description ci --permissions '[{"uri": "com.izaber.wamp.ci.*", "perms": "c"}]'`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				desc := e.fs.String("description", "", "what the key is for")
				expires := e.fs.String("expires", "", "expiry passed to Nexus as given (JSON or text)")
				perms := e.fs.String("permissions", "", "permissions as JSON, passed to Nexus as given")
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					var rec protocol.Dict
					add := func(k string, v any) {
						if rec == nil {
							rec = protocol.Dict{}
						}
						rec[k] = v
					}
					if *desc != "" {
						add("description", *desc)
					}
					if *expires != "" {
						add("expires", parseValue(*expires, false))
					}
					if *perms != "" {
						v, err := decodeJSON([]byte(*perms))
						if err != nil {
							return e.usageErr("--permissions: not JSON: %v", err)
						}
						add("permissions", v)
					}
					d, err := c.APIKeysCreate(ctx, rec)
					return e.show(ctx, d, err)
				}
			},
		},
		"list": {
			usage: "[flags]", summary: "print the user's API keys (without their secrets)", nargs: [2]int{0, 0},
			help: `
examples:
  izaber-wamp apikeys list | jq '.[].uuid'`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					l, err := c.APIKeysList(ctx)
					out := make([]protocol.Dict, 0, len(l))
					for _, k := range l {
						// Nexus versions that still keep keys in plaintext
						// list them: never print a secret here.
						k = maps.Clone(k)
						delete(k, "plaintext_key")
						out = append(out, k)
					}
					return e.show(ctx, out, err)
				}
			},
		},
		"delete": {
			usage: "UUID [flags]", summary: "delete an API key", nargs: [2]int{1, 1},
			help: `
examples:
  izaber-wamp apikeys delete 6f1c3c1e-...`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					if err := c.APIKeysDelete(ctx, pos[0]); err != nil {
						return e.requestErr(ctx, err)
					}
					return exitOK
				}
			},
		},
	}
	return runGroup(ctx, "apikeys", "Nexus API keys: long-lived secrets that log in as this user.", verbs, []string{"create", "list", "delete"}, args, stdout, stderr)
}

func runOTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := map[string]subcommand{
		"create": {
			usage: "[flags]", summary: "create a one-time password and print it (login and plaintext_key, shown only now)", nargs: [2]int{0, 0},
			help: `
The printed login and plaintext_key log in once, within Nexus's expiry
(10 minutes), e.g. IZABER_USER=<login> IZABER_PASSWORD=<plaintext_key>.

examples:
  izaber-wamp otp create
  izaber-wamp otp create | jq -r .plaintext_key`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					d, err := c.OTPCreate(ctx)
					return e.show(ctx, d, err)
				}
			},
		},
		"list": {
			usage: "[flags]", summary: "print the user's one-time passwords (without their secrets)", nargs: [2]int{0, 0},
			help: `
examples:
  izaber-wamp otp list`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					l, err := c.OTPList(ctx)
					if l == nil {
						l = []protocol.Dict{}
					}
					return e.show(ctx, l, err)
				}
			},
		},
		"delete": {
			usage: "UUID [flags]", summary: "delete a one-time password", nargs: [2]int{1, 1},
			help: `
examples:
  izaber-wamp otp delete 0b7e...`,
			flags: func(e *env) func(ctx context.Context, c *izaber.Client, pos []string) int {
				return func(ctx context.Context, c *izaber.Client, pos []string) int {
					if err := c.OTPDelete(ctx, pos[0]); err != nil {
						return e.requestErr(ctx, err)
					}
					return exitOK
				}
			},
		},
	}
	return runGroup(ctx, "otp", "Nexus one-time passwords: secrets that log in as this user once.", verbs, []string{"create", "list", "delete"}, args, stdout, stderr)
}
