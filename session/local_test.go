package session

import "testing"

func TestLocalValue(t *testing.T) {
	type key struct{}
	type other struct{}
	opts := []Option{Local(key{}, 1), Match("prefix"), Local(other{}, "x"), Local(key{}, 2)}
	if v, ok := LocalValue(opts, key{}); !ok || v != 2 {
		t.Errorf("LocalValue(key) = %v, %v; want the last one, 2", v, ok)
	}
	if _, ok := LocalValue(opts[1:2], key{}); ok {
		t.Error("LocalValue found a value in options without one")
	}
	// A Local option applies to every request kind and sends nothing.
	for _, k := range []reqKind{kindCall, kindRegister, kindSubscribe, kindPublish} {
		st, err := buildSettings(k, []Option{Local(key{}, 1)})
		if err != nil || len(st.wire) != 0 {
			t.Errorf("%s: settings %+v, %v; want no wire options", k, st.wire, err)
		}
	}
}
