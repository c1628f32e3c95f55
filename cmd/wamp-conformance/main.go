// Command wamp-conformance checks a WAMP router against the WAMP spec: about
// two hundred wire-level scenarios, each citing the spec section and
// requirement level it checks, run over every transport and serializer the
// router offers.
//
//	wamp-conformance [flags] URL...
//
// URLs name the router's listeners: ws://host:port/path,
// tcp://host:port (RawSocket) and unix:///path (RawSocket). The report
// groups results by spec section; failures show the messages exchanged.
// The exit status is 1 when a MUST fails (or, with -expect, when the
// results differ from the expectations file), 2 for bad usage.
//
//	wamp-conformance ws://127.0.0.1:8080/ws tcp://127.0.0.1:8081
//	wamp-conformance -run '^rpc\.' -json report.json -junit junit.xml ws://…
//	wamp-conformance -self            # the izaber-wamp router, in-process
//	wamp-conformance -list            # the scenario catalogue
//
// Credentials default to the test principals of
// testdata/crossbar/config.json; an empty value drops the scenarios that
// need them.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/conformance/scenario"
	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wamp-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		realm      = fs.String("realm", testrouter.Realm, "realm to join")
		anonymous  = fs.Bool("anonymous", true, "the router accepts anonymous sessions")
		ticket     = fs.String("ticket", testrouter.TicketAuthID+":"+testrouter.TicketSecret, "authid:ticket of a ticket principal (empty: none)")
		cra        = fs.String("wampcra", testrouter.CRAAuthID+":"+testrouter.CRASecret, "authid:secret of an unsalted WAMP-CRA principal (empty: none)")
		salted     = fs.String("wampcra-salted", testrouter.SaltedAuthID+":"+testrouter.SaltedSecret, "authid:secret of a salted WAMP-CRA principal (empty: none)")
		cryptosign = fs.String("cryptosign", testrouter.CryptosignAuthID+":"+testrouter.CryptosignSeed, "authid:hex Ed25519 seed (32 bytes) of a cryptosign principal (empty: none)")
		sers       = fs.String("serializers", "json,msgpack,cbor", "serializers to run over")
		runRE      = fs.String("run", "", "run only scenarios whose ID matches this regular expression")
		level      = fs.String("level", "MAY", "run only scenarios of this level or stricter (MUST, SHOULD, MAY)")
		timeout    = fs.Duration("timeout", 30*time.Second, "time limit of one scenario")
		msgTimeout = fs.Duration("message-timeout", 5*time.Second, "time limit for one expected message")
		parallel   = fs.Int("parallel", 16, "scenario runs at the same time")
		maxSize    = fs.Int("max-message-size", 0, "the router's message size limit in bytes, if known (enables the oversized-message scenarios on WebSocket)")
		jsonOut    = fs.String("json", "", "write the JSON report to this file (- for stdout)")
		junitOut   = fs.String("junit", "", "write a JUnit XML report to this file")
		expect     = fs.String("expect", "", "expectations file: the router's known failures; any other difference fails the run")
		name       = fs.String("router", "", "name of the router in the report")
		verbose    = fs.Bool("v", false, "list passed and not applicable scenarios too")
		lines      = fs.Int("transcript", 30, "transcript lines shown per failure (-1: all)")
		list       = fs.Bool("list", false, "list the scenarios and exit")
		self       = fs.Bool("self", false, "check the izaber-wamp router, started in-process (ignores URLs)")
		quiet      = fs.Bool("q", false, "print only the summary")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wamp-conformance [flags] URL...\n\nURLs: ws://host:port/path, tcp://host:port, unix:///path\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	all := scenario.All()
	if *list {
		listScenarios(stdout, all)
		return 0
	}
	cfg := scenario.Config{
		Realm: *realm, Anonymous: *anonymous, Timeout: *timeout, MessageTimeout: *msgTimeout,
		Parallel: *parallel, MaxMessageSize: *maxSize, Router: *name,
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "wamp-conformance: "+format+"\n", a...)
		return 2
	}
	var err error
	if cfg.Ticket, err = credential("-ticket", *ticket); err != nil {
		return usage("%v", err)
	}
	if cfg.WAMPCRA, err = credential("-wampcra", *cra); err != nil {
		return usage("%v", err)
	}
	if cfg.WAMPCRASalted, err = credential("-wampcra-salted", *salted); err != nil {
		return usage("%v", err)
	}
	if *cryptosign != "" {
		c, err := credential("-cryptosign", *cryptosign)
		if err != nil {
			return usage("%v", err)
		}
		seed, err := hex.DecodeString(c.Secret)
		if err != nil || len(seed) != ed25519.SeedSize {
			return usage("-cryptosign: the key must be a 32-byte Ed25519 seed in hex")
		}
		cfg.Cryptosign = &scenario.CryptosignKey{AuthID: c.AuthID, Key: ed25519.NewKeyFromSeed(seed)}
	}
	for _, n := range strings.Split(*sers, ",") {
		s, err := protocol.SerializerByName(strings.TrimSpace(n))
		if err != nil {
			return usage("-serializers: %v", err)
		}
		cfg.Serializers = append(cfg.Serializers, s)
	}
	var lvl scenario.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(*level))); err != nil {
		return usage("-level: %v", err)
	}
	var re *regexp.Regexp
	if *runRE != "" {
		if re, err = regexp.Compile(*runRE); err != nil {
			return usage("-run: %v", err)
		}
	}
	cfg.Filter = func(s *scenario.Scenario) bool {
		return s.Level <= lvl && (re == nil || re.MatchString(s.ID))
	}
	var exp *scenario.Expectations
	if *expect != "" {
		f, err := os.Open(*expect)
		if err != nil {
			return usage("-expect: %v", err)
		}
		exp, err = scenario.ParseExpectations(*expect, f)
		f.Close()
		if err != nil {
			return usage("-expect: %v", err)
		}
	}

	urls := fs.Args()
	if *self {
		srv, err := testrouter.Start(testrouter.Options{MaxMessageSize: selfMaxMessageSize})
		if err != nil {
			fmt.Fprintf(stderr, "wamp-conformance: start the router: %v\n", err)
			return 1
		}
		defer srv.Close()
		urls = srv.URLs()
		if cfg.MaxMessageSize == 0 {
			cfg.MaxMessageSize = selfMaxMessageSize
		}
		if cfg.Router == "" {
			cfg.Router = "izaber-wamp router (in-process)"
		}
	}
	if len(urls) == 0 {
		fs.Usage()
		return 2
	}
	for _, u := range urls {
		ep, err := wire.ParseURL(u)
		if err != nil {
			return usage("%v", err)
		}
		cfg.Endpoints = append(cfg.Endpoints, ep)
	}
	if cfg.Router == "" {
		cfg.Router = strings.Join(urls, " ")
	}
	if !*quiet {
		cfg.Progress = progress(stderr)
	}

	rep, err := scenario.Run(context.Background(), cfg, all)
	if err != nil {
		fmt.Fprintf(stderr, "wamp-conformance: %v\n", err)
		return 2
	}
	if !*quiet {
		fmt.Fprintln(stderr)
	}
	if exp != nil {
		ids := map[string]bool{}
		for _, s := range all {
			ids[s.ID] = true
		}
		exp.Apply(rep, func(id string) bool { return ids[id] })
	}
	if *quiet {
		fmt.Fprintln(stdout, rep.Summary())
	} else {
		rep.WriteText(stdout, scenario.TextOptions{Transcripts: *lines, Passed: *verbose})
	}
	if err := writeFile(*jsonOut, stdout, rep.WriteJSON); err != nil {
		fmt.Fprintf(stderr, "wamp-conformance: -json: %v\n", err)
		return 1
	}
	if err := writeFile(*junitOut, stdout, rep.WriteJUnit); err != nil {
		fmt.Fprintf(stderr, "wamp-conformance: -junit: %v\n", err)
		return 1
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// selfMaxMessageSize is the limit of the in-process router (-self): small
// enough for the oversized-message scenarios to be cheap.
const selfMaxMessageSize = 1 << 20

func credential(flagName, v string) (*scenario.Credential, error) {
	if v == "" {
		return nil, nil
	}
	id, secret, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return nil, fmt.Errorf("%s: want authid:secret", flagName)
	}
	return &scenario.Credential{AuthID: id, Secret: secret}, nil
}

func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progress prints one character per result: . pass, F fail, - not
// announced or skipped.
func progress(w io.Writer) func(*scenario.Scenario, *scenario.Result) {
	var mu sync.Mutex
	n := 0
	return func(_ *scenario.Scenario, r *scenario.Result) {
		c := byte('-')
		switch r.Status {
		case scenario.Pass:
			c = '.'
		case scenario.Fail:
			c = 'F'
		}
		mu.Lock()
		defer mu.Unlock()
		w.Write([]byte{c})
		if n++; n%100 == 0 {
			io.WriteString(w, "\n")
		}
	}
}

func listScenarios(w io.Writer, all []*scenario.Scenario) {
	for _, sec := range scenario.Sections(all) {
		fmt.Fprintf(w, "%s\n  %s\n", sec, sec.URL())
		for _, s := range all {
			if s.Section != sec {
				continue
			}
			feat := ""
			if s.Feature != "" {
				feat = " [" + s.Feature + "]"
			}
			fmt.Fprintf(w, "  %-6s %s%s — %s\n", s.Level, s.ID, feat, s.Title)
		}
	}
	fmt.Fprintf(w, "\n%d scenarios in %d spec sections\n", len(all), len(scenario.Sections(all)))
}
