package scenario

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Credential is an authid and its secret (a ticket or a WAMP-CRA secret).
type Credential struct {
	AuthID, Secret string
}

// CryptosignKey is an authid and its Ed25519 private key.
type CryptosignKey struct {
	AuthID string
	Key    ed25519.PrivateKey
}

// Config says which router to check and how. Zero fields get the defaults
// in their comments.
type Config struct {
	// Endpoints are the router's listeners, one per transport.
	Endpoints []wire.Endpoint
	// Serializers to run over (default JSON, MsgPack, CBOR); those a
	// router does not offer are reported as such.
	Serializers []protocol.Serializer
	// Realm is the realm to join (default "izaber").
	Realm string
	// Anonymous says the router accepts anonymous sessions on Realm.
	Anonymous bool
	// Credentials per method; nil skips the scenarios that need them.
	Ticket, WAMPCRA, WAMPCRASalted *Credential
	Cryptosign                     *CryptosignKey
	// MaxMessageSize is the router's message size limit in bytes, if known
	// (the oversized-message scenarios need it for WebSocket).
	MaxMessageSize int
	// Timeout bounds one scenario run (default 30s).
	Timeout time.Duration
	// MessageTimeout bounds the wait for one expected message or
	// connection close (default 5s).
	MessageTimeout time.Duration
	// Parallel is how many scenario runs go at once (default 16: most of
	// a run is waiting for the router).
	Parallel int
	// Filter, if set, selects the scenarios to run.
	Filter func(*Scenario) bool
	// Cells, if set, selects the cells scenarios run in; the others are
	// still probed (scenarios that use a second serializer need them).
	Cells func(Cell) bool
	// URIPrefix is the first component of every URI the scenarios use
	// (default "conformance"); each run adds a random component.
	URIPrefix string
	// Router names the router in the report.
	Router string
	// Progress, if set, is told about each result as it comes.
	Progress func(*Scenario, *Result)
}

func (c *Config) setDefaults() {
	if len(c.Serializers) == 0 {
		c.Serializers = []protocol.Serializer{protocol.JSON, protocol.MsgPack, protocol.CBOR}
	}
	if c.Realm == "" {
		c.Realm = "izaber"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = 5 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 16
	}
	if c.URIPrefix == "" {
		c.URIPrefix = "conformance"
	}
}

// credential is a way to authenticate.
type credential struct {
	AuthID string
	method auth.ClientMethod
}

// credential returns the credential for an authentication name.
func (c *Config) credential(name string) (credential, bool) {
	switch name {
	case "anonymous":
		return credential{method: auth.Anonymous()}, c.Anonymous
	case "ticket":
		if c.Ticket != nil {
			return credential{AuthID: c.Ticket.AuthID, method: auth.Ticket(c.Ticket.Secret)}, true
		}
	case "wampcra":
		if c.WAMPCRA != nil {
			return credential{AuthID: c.WAMPCRA.AuthID, method: auth.WAMPCRA(c.WAMPCRA.Secret)}, true
		}
	case "wampcra-salted":
		if c.WAMPCRASalted != nil {
			return credential{AuthID: c.WAMPCRASalted.AuthID, method: auth.WAMPCRA(c.WAMPCRASalted.Secret)}, true
		}
	case "cryptosign":
		if c.Cryptosign != nil {
			return credential{AuthID: c.Cryptosign.AuthID, method: auth.Cryptosign(c.Cryptosign.Key)}, true
		}
	}
	return credential{}, false
}

// authNames are the authentication names in order of preference for the
// default session.
var authNames = []string{"anonymous", "ticket", "wampcra", "wampcra-salted", "cryptosign"}

// defaultAuth is the authentication of sessions that do not ask for one.
func (c *Config) defaultAuth() string {
	for _, n := range authNames {
		if _, ok := c.credential(n); ok {
			return n
		}
	}
	return "anonymous"
}

// has reports whether the run provides what a scenario needs.
func (c *Config) has(need string) bool {
	if need == "max-message-size" {
		return c.MaxMessageSize > 0
	}
	_, ok := c.credential(need)
	return ok
}

// Cell is one transport × serializer combination.
type Cell struct {
	Endpoint   wire.Endpoint
	Serializer protocol.Serializer
}

// cellState is what the probe learnt about a cell.
type cellState struct {
	offered bool
	err     string // the probe's failure, if it could not open a session
	roles   protocol.Dict
	details protocol.Dict
}

type runner struct {
	cfg   Config
	cells map[Cell]*cellState
	order []Cell
}

func (r *runner) announced(c Cell, feature string) bool {
	if feature == "" {
		return true
	}
	role, name, _ := strings.Cut(feature, ".")
	roles := r.cells[c].roles
	rd, _ := roles[role].(protocol.Dict)
	fs, _ := rd["features"].(protocol.Dict)
	v, _ := fs[name].(bool)
	return v
}

func (r *runner) newT(ctx context.Context, sc *Scenario, cell Cell) *T {
	return &T{
		ctx:    ctx,
		sc:     sc,
		cell:   cell,
		run:    r,
		prefix: r.cfg.URIPrefix + ".r" + randomToken(),
		start:  time.Now(),
	}
}

// Run runs the scenarios against the router cfg describes and reports the
// results. It fails only for a bad Config.
func Run(ctx context.Context, cfg Config, scenarios []*Scenario) (*Report, error) {
	cfg.setDefaults()
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("scenario: no router endpoints")
	}
	r := &runner{cfg: cfg, cells: map[Cell]*cellState{}}
	rep := &Report{Router: cfg.Router, Started: time.Now().UTC(), Realm: cfg.Realm}
	for _, ep := range cfg.Endpoints {
		for _, ser := range cfg.Serializers {
			c := Cell{Endpoint: ep, Serializer: ser}
			r.order = append(r.order, c)
			r.cells[c] = &cellState{}
		}
	}
	var wg sync.WaitGroup
	for _, c := range r.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.probe(ctx, c)
		}()
	}
	wg.Wait()
	for _, c := range r.order {
		st := r.cells[c]
		rep.Cells = append(rep.Cells, CellReport{
			Name: c.String(), Transport: c.Endpoint.Transport, Serializer: c.Serializer.Name(),
			URL: c.Endpoint.URL, Offered: st.offered, Error: st.err,
		})
		if st.roles != nil && rep.Roles == nil {
			rep.Roles = st.roles
			rep.Agent, _ = st.details["agent"].(string)
		}
	}

	type job struct {
		sc   *Scenario
		cell Cell
		res  *Result
	}
	var jobs, exclusive []*job
	byID := map[string]*ScenarioReport{}
	for _, sc := range scenarios {
		if cfg.Filter != nil && !cfg.Filter(sc) {
			continue
		}
		sr := &ScenarioReport{
			ID: sc.ID, Title: sc.Title, Section: sc.Section.String(), SectionURL: sc.Section.URL(),
			Level: sc.Level, Feature: sc.Feature,
		}
		byID[sc.ID] = sr
		rep.Scenarios = append(rep.Scenarios, sr)
		for _, c := range r.order {
			if sc.Transports != nil && !slices.Contains(sc.Transports, c.Endpoint.Transport) ||
				sc.Serializers != nil && !slices.Contains(sc.Serializers, c.Serializer.Name()) ||
				cfg.Cells != nil && !cfg.Cells(c) {
				continue
			}
			res := &Result{Cell: c.String()}
			sr.Results = append(sr.Results, res)
			st := r.cells[c]
			switch {
			case !st.offered:
				res.Status, res.Message = Skipped, "the router does not offer this serializer on this transport"
			case st.err != "":
				res.Status, res.Message = Fail, "cannot open a session: "+st.err
			case !r.announced(c, sc.Feature):
				res.Status, res.Message = NotAnnounced, "the router does not announce "+sc.Feature
			default:
				for _, n := range sc.Needs {
					if !cfg.has(n) {
						res.Status, res.Message = Skipped, "needs "+n+" (not given)"
						break
					}
				}
			}
			if res.Status != "" {
				if cfg.Progress != nil {
					cfg.Progress(sc, res)
				}
				continue
			}
			j := &job{sc: sc, cell: c, res: res}
			if sc.Exclusive {
				exclusive = append(exclusive, j)
			} else {
				jobs = append(jobs, j)
			}
		}
	}
	exec := func(j *job) {
		*j.res = r.runOne(ctx, j.sc, j.cell)
		if cfg.Progress != nil {
			cfg.Progress(j.sc, j.res)
		}
	}
	sem := make(chan struct{}, cfg.Parallel)
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			exec(j)
		}()
	}
	wg.Wait()
	for _, j := range exclusive {
		exec(j)
	}
	for _, sr := range rep.Scenarios {
		sr.Status = aggregate(sr.Results)
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// probe opens a session in a cell to learn whether the router offers it
// and what it announces.
func (r *runner) probe(ctx context.Context, c Cell) {
	st := r.cells[c]
	pctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	t := r.newT(pctx, nil, c)
	defer t.closeAll()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := t.TryDial(DialOptions{})
		if err != nil {
			var he *wire.HandshakeError
			// A refused serializer: RawSocket error 1, or a dropped
			// connection as crossbar does; WebSocket 400.
			if errors.As(err, &he) && (he.Code == wire.RawSocketErrSerializer || he.HTTPStatus == http.StatusBadRequest ||
				he.Dropped && len(he.Reply) == 0 && c.Endpoint.RawSocket()) {
				return // not offered
			}
			st.offered = true
			st.err = err.Error()
			return
		}
		st.offered = true
		s := conn.Join(JoinOptions{})
		st.roles, _ = s.Welcome.Details["roles"].(protocol.Dict)
		st.details = s.Welcome.Details
	}()
	<-done
	if t.status == Fail {
		st.err = t.message
	} else if t.status == Skipped {
		st.err = "cannot open a session: " + t.message
	}
}

// runOne runs a scenario in a cell.
func (r *runner) runOne(ctx context.Context, sc *Scenario, c Cell) Result {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	t := r.newT(sctx, sc, c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				t.mu.Lock()
				if t.status == "" {
					t.status, t.message = Fail, fmt.Sprintf("scenario panicked: %v", p)
				}
				t.mu.Unlock()
			}
		}()
		sc.Run(t)
	}()
	select {
	case <-done:
	case <-sctx.Done():
		// Every wait of a scenario honours its context; closing the
		// connections ends anything else.
		t.closeAll()
		<-done
	}
	t.closeAll()
	res := Result{Cell: c.String(), Millis: float64(time.Since(t.start).Microseconds()) / 1000}
	t.mu.Lock()
	res.Status, res.Message = t.status, t.message
	t.mu.Unlock()
	if res.Status == "" {
		res.Status = Pass
	}
	if res.Status == Fail {
		res.Transcript = t.transcript()
	}
	return res
}

func aggregate(rs []*Result) Status {
	var pass, na, skip bool
	for _, r := range rs {
		switch r.Status {
		case Fail:
			return Fail
		case Pass:
			pass = true
		case NotAnnounced:
			na = true
		default:
			skip = true
		}
	}
	switch {
	case pass:
		return Pass
	case na:
		return NotAnnounced
	case skip:
		return Skipped
	}
	return Skipped
}
