package protocol

// sampleMessages has one representative of every message type, with
// payloads that exercise every decoded value type.
func sampleMessages() []Message {
	payloadArgs := List{int64(1), "two", 3.5, true, nil, []byte{0, 1, 2, 255}, List{int64(-7)}, Dict{"k": "v"}}
	payloadKw := Dict{"a": int64(1), "big": uint64(1) << 63, "id": int64(MaxID), "nested": Dict{"x": List{}}, "bin": []byte("hi")}
	return []Message{
		&Hello{Realm: "realm1", Details: Dict{"roles": Dict{"caller": Dict{"features": Dict{"progressive_call_results": true}}}, "authmethods": List{"ticket", "wampcra"}}},
		&Welcome{Session: 9007199254740992, Details: Dict{"roles": Dict{"broker": Dict{}}, "authid": "joe"}},
		&Abort{Details: Dict{"message": "no"}, Reason: "wamp.error.no_such_realm"},
		&Abort{Details: Dict{}, Reason: "wamp.error.no_such_realm", Args: List{"x"}, Kwargs: Dict{"y": int64(1)}},
		&Challenge{AuthMethod: "wampcra", Extra: Dict{"challenge": "{\"nonce\":1}", "salt": "s", "iterations": int64(1000), "keylen": int64(32)}},
		&Authenticate{Signature: "secret-signature", Extra: Dict{}},
		&Goodbye{Details: Dict{}, Reason: "wamp.close.normal"},
		&Error{RequestType: CodeCall, Request: 12, Details: Dict{}, URI: "com.izaber.wamp:error.x", Args: payloadArgs, Kwargs: payloadKw},
		&Error{RequestType: CodeInvocation, Request: 1, Details: Dict{}, URI: "wamp.error.runtime_error", Kwargs: Dict{"only": "kw"}},
		&Publish{Request: 1, Options: Dict{"acknowledge": true, "exclude": List{int64(5)}}, Topic: "com.topic", Args: List{"a"}},
		&Publish{Request: 2, Options: Dict{}, Topic: "com.topic"},
		&Published{Request: 1, Publication: 4503599627370496},
		&Subscribe{Request: 3, Options: Dict{"match": "wildcard"}, Topic: "com..topic"},
		&Subscribe{Request: 3, Options: Dict{"match": "prefix"}, Topic: "com.topic."},
		&Subscribed{Request: 3, Subscription: 77},
		&Unsubscribe{Request: 4, Subscription: 77},
		&Unsubscribe{Request: 4, Subscription: 77, Options: Dict{"x_opt": true}},
		&Unsubscribed{Request: 4},
		&Unsubscribed{Request: 0, Details: Dict{"subscription": int64(77), "reason": "wamp.authentication.lost"}},
		&Event{Subscription: 77, Publication: 88, Details: Dict{"topic": "com.topic"}, Args: payloadArgs, Kwargs: payloadKw},
		&Event{Subscription: 77, Publication: 89, Details: Dict{}},
		&Call{Request: 5, Options: Dict{"timeout": int64(1000)}, Procedure: "com.izaber.wamp:add", Args: List{int64(1), int64(2), int64(3)}, Kwargs: Dict{"x": "y", "z": 1.5}},
		&Call{Request: 6, Options: Dict{}, Procedure: "com.proc", Kwargs: Dict{"only": "kw"}},
		&Cancel{Request: 5, Options: Dict{"mode": "kill"}},
		&Result{Request: 5, Details: Dict{"progress": true}, Args: List{int64(6)}},
		&Result{Request: 5, Details: Dict{}},
		&Register{Request: 7, Options: Dict{"match": "prefix", "invoke": "roundrobin"}, Procedure: "com.proc."},
		&Registered{Request: 7, Registration: 99},
		&Unregister{Request: 8, Registration: 99},
		&Unregistered{Request: 8},
		&Unregistered{Request: 0, Details: Dict{"registration": int64(99)}},
		&Invocation{Request: 1, Registration: 99, Details: Dict{"caller": int64(3)}, Args: payloadArgs, Kwargs: payloadKw},
		&Interrupt{Request: 1, Options: Dict{"mode": "killnowait"}},
		&Yield{Request: 1, Options: Dict{}, Args: List{[]byte{1, 2, 3}}},
		// payload passthru mode, both spellings
		&Call{Request: 9, Options: Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_keyid": "k"}, Procedure: "com.p", Args: List{[]byte{0xca, 0xfe}}},
		&Publish{Request: 10, Options: Dict{"enc_algo": "cryptobox", "enc_serializer": "cbor"}, Topic: "com.t", Args: List{[]byte{9, 9}}},
		&Event{Subscription: 77, Publication: 90, Details: Dict{"enc_algo": "x_mine"}, Args: List{[]byte{}}},
		&Result{Request: 5, Details: Dict{"enc_algo": "mqtt"}, Args: List{"a1666e6f74696365"}},
		&Error{RequestType: CodeInvocation, Request: 2, Details: Dict{"ppt_scheme": "mqtt"}, URI: "com.e", Args: List{[]byte{1}}},
	}
}
