package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// TestTypedOptions checks the spec-defined Options/Details keys: a value of
// the wrong type is a *ValidationError naming the key, on receive (FromList
// and every Unmarshal) and on send (Validate and every Marshal); unknown
// keys pass through. The table is ours, modelled on the wamp-proto test
// vectors' validation samples (testsuite/singlemessage/basic/*.json) and
// autobahn's parse functions.
func TestTypedOptions(t *testing.T) {
	publish := func(o Dict) Message { return &Publish{Request: 1, Options: o, Topic: "com.t"} }
	subscribe := func(o Dict) Message { return &Subscribe{Request: 1, Options: o, Topic: "com.t"} }
	call := func(o Dict) Message { return &Call{Request: 1, Options: o, Procedure: "com.p"} }
	register := func(o Dict) Message { return &Register{Request: 1, Options: o, Procedure: "com.p"} }
	event := func(d Dict) Message { return &Event{Subscription: 1, Publication: 2, Details: d} }
	invocation := func(d Dict) Message { return &Invocation{Request: 1, Registration: 2, Details: d} }
	result := func(d Dict) Message { return &Result{Request: 1, Details: d} }
	yield := func(o Dict) Message { return &Yield{Request: 1, Options: o} }
	cancel := func(o Dict) Message { return &Cancel{Request: 1, Options: o} }
	interrupt := func(o Dict) Message { return &Interrupt{Request: 1, Options: o} }
	errMsg := func(d Dict) Message { return &Error{RequestType: CodeCall, Request: 1, Details: d, URI: "com.e"} }
	hello := func(d Dict) Message { return &Hello{Realm: "realm1", Details: d} }
	welcome := func(d Dict) Message { return &Welcome{Session: 1, Details: d} }
	goodbye := func(d Dict) Message { return &Goodbye{Details: d, Reason: URICloseNormal} }
	unregistered := func(d Dict) Message { return &Unregistered{Details: d} }
	unsubscribe := func(o Dict) Message { return &Unsubscribe{Request: 1, Subscription: 2, Options: o} }

	ff := Dict{"session": int64(123), "authid": "router1", "authrole": "router"}
	tests := []struct {
		name string
		m    Message
		bad  string // the key named by the error; "" when valid
	}{
		{"acknowledge true", publish(Dict{"acknowledge": true}), ""},
		{"acknowledge false", publish(Dict{"acknowledge": false}), ""},
		{"acknowledge int", publish(Dict{"acknowledge": int64(1)}), "acknowledge"},
		{"acknowledge string", publish(Dict{"acknowledge": "hello"}), "acknowledge"},
		{"acknowledge null", publish(Dict{"acknowledge": nil}), "acknowledge"},
		{"exclude_me string", publish(Dict{"exclude_me": "hello"}), "exclude_me"},
		{"exclude empty", publish(Dict{"exclude": List{}}), ""},
		{"exclude ids", publish(Dict{"exclude": List{int64(123), int64(456)}}), ""},
		{"exclude Go ids", publish(Dict{"exclude": []ID{1, 2}}), ""},
		{"exclude string", publish(Dict{"exclude": "hello"}), "exclude"},
		{"exclude string item", publish(Dict{"exclude": List{"hello"}}), "exclude"},
		{"exclude float item", publish(Dict{"exclude": List{1.5}}), "exclude"},
		{"exclude id 0", publish(Dict{"exclude": List{int64(0)}}), "exclude"},
		{"eligible string", publish(Dict{"eligible": "hello"}), "eligible"},
		{"exclude_authid", publish(Dict{"exclude_authid": List{"alice", "bob"}}), ""},
		{"exclude_authid Go strings", publish(Dict{"exclude_authid": []string{"alice"}}), ""},
		{"exclude_authid string", publish(Dict{"exclude_authid": "hello"}), "exclude_authid"},
		{"exclude_authid int item", publish(Dict{"exclude_authid": List{int64(123)}}), "exclude_authid"},
		{"exclude_authrole string", publish(Dict{"exclude_authrole": "manager"}), "exclude_authrole"},
		{"eligible_authid int", publish(Dict{"eligible_authid": int64(123)}), "eligible_authid"},
		{"eligible_authrole int item", publish(Dict{"eligible_authrole": List{int64(123)}}), "eligible_authrole"},
		{"retain string", publish(Dict{"retain": "hello"}), "retain"},
		{"disclose_me int", publish(Dict{"disclose_me": int64(1)}), "disclose_me"},
		{"transaction_hash int", publish(Dict{"transaction_hash": int64(123)}), "transaction_hash"},
		{"forward_for empty", publish(Dict{"forward_for": List{}}), ""},
		{"forward_for", publish(Dict{"forward_for": List{ff}}), ""},
		{"forward_for string", publish(Dict{"forward_for": "hello"}), "forward_for"},
		{"forward_for missing authrole", publish(Dict{"forward_for": List{Dict{"session": int64(1), "authid": "a"}}}), "forward_for"},
		{"unknown key passes", publish(Dict{"x_custom": List{1.5}, "_mine": nil, "futurekey": "x"}), ""},

		{"match prefix", subscribe(Dict{"match": "prefix"}), ""},
		{"match unknown", subscribe(Dict{"match": "regex"}), "match"},
		{"match int", subscribe(Dict{"match": int64(1)}), "match"},
		{"get_retained string", subscribe(Dict{"get_retained": "yes"}), "get_retained"},

		{"timeout", call(Dict{"timeout": int64(1000)}), ""},
		{"timeout 0", call(Dict{"timeout": int64(0)}), ""},
		{"timeout negative", call(Dict{"timeout": int64(-1)}), "timeout"},
		{"timeout float", call(Dict{"timeout": 1.5}), "timeout"},
		{"timeout string", call(Dict{"timeout": "soon"}), "timeout"},
		{"receive_progress int", call(Dict{"receive_progress": int64(1)}), "receive_progress"},
		{"progress string", call(Dict{"progress": "true"}), "progress"},
		{"caller_authid int", call(Dict{"caller_authid": int64(1)}), "caller_authid"},

		{"invoke roundrobin", register(Dict{"invoke": "roundrobin"}), ""},
		{"invoke unknown", register(Dict{"invoke": "sometimes"}), "invoke"},
		{"concurrency 0", register(Dict{"concurrency": int64(0)}), "concurrency"},
		{"concurrency 2", register(Dict{"concurrency": int64(2)}), ""},
		{"force_reregister int", register(Dict{"force_reregister": int64(1)}), "force_reregister"},

		{"publisher", event(Dict{"publisher": int64(5), "publisher_authid": "a", "publisher_authrole": "r", "topic": "com.t"}), ""},
		{"publisher string", event(Dict{"publisher": "5"}), "publisher"},
		{"publisher 0", event(Dict{"publisher": int64(0)}), "publisher"},
		{"publisher_authid int", event(Dict{"publisher_authid": int64(5)}), "publisher_authid"},
		{"publisher_authrole list", event(Dict{"publisher_authrole": List{}}), "publisher_authrole"},
		{"topic int", event(Dict{"topic": int64(5)}), "topic"},
		{"retained string", event(Dict{"retained": "x"}), "retained"},
		{"x_acknowledged_delivery int", event(Dict{"x_acknowledged_delivery": int64(1)}), "x_acknowledged_delivery"},

		{"procedure", invocation(Dict{"procedure": "com.p", "caller": int64(7), "timeout": int64(5)}), ""},
		{"procedure int", invocation(Dict{"procedure": int64(1)}), "procedure"},
		{"caller string", invocation(Dict{"caller": "7"}), "caller"},
		{"receive_progress string", invocation(Dict{"receive_progress": "x"}), "receive_progress"},

		{"result progress", result(Dict{"progress": true}), ""},
		{"result progress int", result(Dict{"progress": int64(1)}), "progress"},
		{"result callee string", result(Dict{"callee": "x"}), "callee"},
		{"yield progress string", yield(Dict{"progress": "x"}), "progress"},
		{"error callee_authrole int", errMsg(Dict{"callee_authrole": int64(1)}), "callee_authrole"},

		{"cancel skip", cancel(Dict{"mode": "skip"}), ""},
		{"cancel unknown", cancel(Dict{"mode": "abort"}), "mode"},
		{"interrupt killnowait", interrupt(Dict{"mode": "killnowait", "reason": URICanceled}), ""},
		{"interrupt skip", interrupt(Dict{"mode": "skip"}), "mode"},
		{"interrupt reason bad uri", interrupt(Dict{"reason": "a b"}), "reason"},

		{"hello", hello(Dict{"roles": Dict{"caller": Dict{"features": Dict{"call_canceling": true}}}, "authmethods": List{"ticket"}, "authid": "joe", "agent": "x"}), ""},
		{"hello feature int", hello(Dict{"roles": Dict{"caller": Dict{"features": Dict{"call_canceling": int64(1)}}}}), "roles"},
		{"hello role list", hello(Dict{"roles": Dict{"caller": List{}}}), "roles"},
		{"hello authmethods string", hello(Dict{"authmethods": "ticket"}), "authmethods"},
		{"hello authextra list", hello(Dict{"authextra": List{}}), "authextra"},
		{"welcome authrole int", welcome(Dict{"authrole": int64(1)}), "authrole"},
		{"goodbye message int", goodbye(Dict{"message": int64(1)}), "message"},
		{"revocation registration string", unregistered(Dict{"registration": "1"}), "registration"},
		{"revocation reason", unregistered(Dict{"registration": int64(1), "reason": "wamp.error.unregistered"}), ""},
		{"unsubscribe forward_for int", unsubscribe(Dict{"forward_for": int64(1)}), "forward_for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(how string, err error) {
				t.Helper()
				if tt.bad == "" {
					if err != nil {
						t.Errorf("%s: %v", how, err)
					}
					return
				}
				var ve *ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidMessage) {
					t.Fatalf("%s = %v, want a ValidationError naming %q", how, err, tt.bad)
				}
				if !strings.HasSuffix(ve.Field, "."+tt.bad) || !strings.Contains(err.Error(), tt.bad) {
					t.Errorf("%s: %v does not name %q", how, err, tt.bad)
				}
			}
			check("Validate", Validate(tt.m))
			_, err := FromList(ToList(tt.m))
			check("FromList", err)
			for _, s := range serializers {
				_, err := s.Marshal(tt.m)
				check(s.Name()+".Marshal", err)
			}
			// The receive path of every serializer: encode without
			// validation, then decode.
			for _, s := range serializers {
				b := marshalUnchecked(t, s, tt.m)
				_, err := s.Unmarshal(b)
				check(s.Name()+".Unmarshal", err)
			}
		})
	}
}

// marshalUnchecked encodes m's generic list form as a foreign peer would,
// without our validation.
func marshalUnchecked(t *testing.T, s Serializer, m Message) []byte {
	t.Helper()
	var b []byte
	var err error
	switch s {
	case JSON:
		e := &jsonEncoder{}
		err = e.array(ToList(m), 1)
		b = e.b
	case MsgPack:
		b, err = msgpack.Marshal(ToList(m))
	case CBOR:
		b, err = cbor.Marshal(ToList(m))
	}
	if err != nil {
		t.Fatalf("%s: %v", s.Name(), err)
	}
	return b
}
