// Package transport is the second layer of izaber-wamp: it moves protocol
// messages over a connection and knows nothing of their meaning.
//
// A Peer is one end of a connection. Clients get one from Dial (ws://, wss://,
// tcp://, tcps://, unix://); servers get them from the WebSocket handler and
// the RawSocket listener. Pipe makes a connected in-memory pair for tests and
// for embedding a router in the same process.
package transport
