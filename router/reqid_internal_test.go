package router

import (
	"strings"
	"testing"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Request IDs wrap from 2^53 to 1 (basic/building_blocks.md, IDs).
func TestRequestIDsWrap(t *testing.T) {
	s := &sess{lastReq: protocol.MaxID - 1, checkReqs: true}
	for _, id := range []protocol.ID{protocol.MaxID, 1, 2} {
		if err := s.checkRequestID(&protocol.Register{Request: id}, id); err != nil {
			t.Fatalf("request %d after %d: %v", id, s.lastReq, err)
		}
	}
	err := s.checkRequestID(&protocol.Subscribe{Request: protocol.MaxID}, protocol.MaxID)
	if err == nil || !strings.Contains(err.Error(), "expected 3") {
		t.Fatalf("request 2^53 after 2: %v, want a violation expecting 3", err)
	}
}
