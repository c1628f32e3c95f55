package main

// Command-line values in, JSON out.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// parseValue turns one command-line argument into a WAMP payload value:
// the JSON value when the whole text is one (42, true, null, [1,2],
// {"a":1}, "quoted"), else the text itself as a string. asString keeps
// the text as a string in every case.
func parseValue(s string, asString bool) any {
	if asString {
		return s
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return s
	}
	return v
}

// decodeJSON decodes exactly one JSON value into payload types: integers
// as int64 (uint64 above MaxInt64), other numbers as float64, objects as
// protocol.Dict and arrays as protocol.List.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return f, nil
	case map[string]any:
		d := make(protocol.Dict, len(t))
		for k, e := range t {
			var err error
			if d[k], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return d, nil
	case []any:
		l := make(protocol.List, len(t))
		for i, e := range t {
			var err error
			if l[i], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
	return v, nil
}

// kwargsFlag collects repeated -k KEY=VALUE flags.
type kwargsFlag struct {
	pairs [][2]string
}

// String is empty: the flag has no default to show in help.
func (k *kwargsFlag) String() string { return "" }

// Type names the flag's value in help.
func (k *kwargsFlag) Type() string { return "KEY=VALUE" }

// Set adds one KEY=VALUE pair.
func (k *kwargsFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	k.pairs = append(k.pairs, [2]string{key, value})
	return nil
}

// dict returns the keyword arguments, or nil when there are none.
func (k *kwargsFlag) dict(asString bool) protocol.Dict {
	if len(k.pairs) == 0 {
		return nil
	}
	d := protocol.Dict{}
	for _, p := range k.pairs {
		d[p[0]] = parseValue(p[1], asString)
	}
	return d
}

func parseArgs(args []string, asString bool) protocol.List {
	if len(args) == 0 {
		return nil
	}
	l := make(protocol.List, len(args))
	for i, a := range args {
		l[i] = parseValue(a, asString)
	}
	return l
}

// toJSON converts a payload value to something encoding/json writes
// faithfully: binary as WAMP's JSON form "\u0000"+base64, non-finite
// floats as strings, maps with non-string keys with their keys printed.
func toJSON(v any) any {
	switch t := v.(type) {
	case []byte:
		return "\x00" + base64.StdEncoding.EncodeToString(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return strconv.FormatFloat(t, 'g', -1, 64)
		}
		return t
	case float32:
		return toJSON(float64(t))
	case protocol.Dict:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = toJSON(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = toJSON(e)
		}
		return m
	case protocol.List:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = toJSON(e)
		}
		return l
	}
	return v
}

// writeJSON writes v as one line, or indented.
func writeJSON(w io.Writer, v any, indent bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(toJSON(v)); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func nonNilList(l protocol.List) protocol.List {
	if l == nil {
		return protocol.List{}
	}
	return l
}

func nonNilDict(d protocol.Dict) protocol.Dict {
	if d == nil {
		return protocol.Dict{}
	}
	return d
}

// resultValue is what call prints by default: the only positional
// result, the list of them, null, or {args, kwargs} when there are
// keyword results.
func resultValue(args protocol.List, kwargs protocol.Dict) any {
	if len(kwargs) > 0 {
		return map[string]any{"args": nonNilList(args), "kwargs": kwargs}
	}
	switch len(args) {
	case 0:
		return nil
	case 1:
		return args[0]
	}
	return args
}

// maxInputFile bounds what --args-file and --kwargs-file read: more than
// any router takes in one message (izaber's default limit is 50 MB).
const maxInputFile = 64 << 20

// payloadFlags are the flags of the commands that send a payload (call,
// publish): -k, -s, --args-file and --kwargs-file.
type payloadFlags struct {
	kw         kwargsFlag
	asString   bool
	argsFile   string
	kwargsFile string
}

func (p *payloadFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.VarP(&p.kw, "kwarg", "k", "keyword argument `KEY=VALUE` (repeatable)")
	fs.BoolVarP(&p.asString, "string", "s", false, "take every ARG and VALUE as a string, never as JSON")
	fs.StringVar(&p.argsFile, "args-file", "", "read the positional arguments, a JSON list, from `FILE` (\"-\": standard input) instead of ARG...")
	fs.StringVar(&p.kwargsFile, "kwargs-file", "", "read keyword arguments, a JSON object, from `FILE` (\"-\": standard input); -k adds to them")
}

// payload returns the arguments and keyword arguments from the command
// line and the files. Its errors are usage errors.
func (p *payloadFlags) payload(pos []string, stdin io.Reader) (protocol.List, protocol.Dict, error) {
	if p.argsFile == "-" && p.kwargsFile == "-" {
		return nil, nil, fmt.Errorf("--args-file and --kwargs-file cannot both read standard input")
	}
	args := parseArgs(pos, p.asString)
	if p.argsFile != "" {
		if len(pos) > 0 {
			return nil, nil, fmt.Errorf("give the arguments either on the command line or with --args-file, not both")
		}
		v, err := readJSONFile(p.argsFile, stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("--args-file: %w", err)
		}
		l, ok := v.(protocol.List)
		if !ok {
			return nil, nil, fmt.Errorf("--args-file %s: want a JSON list of arguments, got %s", p.argsFile, jsonKind(v))
		}
		args = l
	}
	kwargs := p.kw.dict(p.asString)
	if p.kwargsFile != "" {
		v, err := readJSONFile(p.kwargsFile, stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("--kwargs-file: %w", err)
		}
		d, ok := v.(protocol.Dict)
		if !ok {
			return nil, nil, fmt.Errorf("--kwargs-file %s: want a JSON object of keyword arguments, got %s", p.kwargsFile, jsonKind(v))
		}
		for k, v := range kwargs { // -k wins
			d[k] = v
		}
		kwargs = d
	}
	return args, kwargs, nil
}

// readJSONFile reads one JSON value from the file name, or from stdin
// when name is "-", at most maxInputFile bytes.
func readJSONFile(name string, stdin io.Reader) (any, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, maxInputFile>>20)
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not one JSON value: %w", name, err)
	}
	return v, nil
}

// jsonKind names the JSON type of a decoded value, for errors.
func jsonKind(v any) string {
	switch v.(type) {
	case protocol.List:
		return "a list"
	case protocol.Dict:
		return "an object"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// optionFlag adds -o KEY=VALUE to cmd: options put in the request message
// as given, for what no flag covers.
func optionFlag(cmd *cobra.Command, message string) *kwargsFlag {
	o := &kwargsFlag{}
	cmd.Flags().VarP(o, "option", "o", "`KEY=VALUE` put in the "+message+" message's options, the value parsed like an argument (repeatable)")
	return o
}

// wampOptions turns -o pairs into request options.
func wampOptions(o *kwargsFlag) []session.Option {
	var opts []session.Option
	for _, p := range o.pairs {
		opts = append(opts, session.WithOption(p[0], parseValue(p[1], false)))
	}
	return opts
}
