package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// Matrix checks of the Advanced Profile features of issue #12. Each runs
// only when the router announces the feature (crossbar announces the meta
// APIs, retention and testaments, not progressive call invocations); a
// feature not announced is "n/a", never a pass.

// announced returns a note and errNotApplicable when the router does not
// announce role.feature.
func announced(p *peer, role, feature string) (string, error) {
	if !protocol.HasFeature(p.Info().Details, role, feature) {
		return fmt.Sprintf("the router does not announce %s.%s", role, feature), errNotApplicable
	}
	return "", nil
}

// meta_api: a registration and a subscription as the registration and
// subscription meta APIs report them, and the on_register event.
func checkMetaAPI(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	if note, err := announced(a, protocol.RoleDealer, protocol.FeatureRegistrationMetaAPI); err != nil {
		return note, err
	}
	if note, err := announced(a, protocol.RoleBroker, protocol.FeatureSubscriptionMetaAPI); err != nil {
		return note, err
	}
	onRegister, events := eventSink(8)
	watch, err := a.Subscribe(ctx, protocol.MetaRegistrationOnRegister, onRegister)
	if err != nil {
		return "", fmt.Errorf("subscribe on_register: %w", err)
	}
	defer a.Unsubscribe(ctx, watch)
	proc := e.prefix + ".meta.proc"
	reg, err := b.Register(ctx, proc, func(context.Context, *session.Invocation) (*session.Result, error) { return nil, nil })
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	for {
		ev, err := waitFor(ctx, events, "wamp.registration.on_register")
		if err != nil {
			return "", err
		}
		if fmt.Sprint(ev.Args) == fmt.Sprint(protocol.List{b.Info().Session, reg.ID}) {
			break
		}
	}
	call := func(proc string, args ...any) (any, error) {
		res, err := a.Call(ctx, proc, protocol.List(args), nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", proc, err)
		}
		return res.Arg(0), nil
	}
	if got, err := call(protocol.MetaRegistrationLookup, proc); err != nil || fmt.Sprint(got) != fmt.Sprint(reg.ID) {
		return "", fmt.Errorf("registration lookup = %v (%v), want %d", got, err, reg.ID)
	}
	d, err := call(protocol.MetaRegistrationGet, reg.ID)
	if dd, _ := d.(protocol.Dict); err != nil || dd["uri"] != proc || dd["match"] != "exact" {
		return "", fmt.Errorf("registration get = %v (%v)", d, err)
	}
	if got, err := call(protocol.MetaRegistrationListCallees, reg.ID); err != nil || fmt.Sprint(got) != fmt.Sprint([]any{b.Info().Session}) {
		return "", fmt.Errorf("list_callees = %v (%v)", got, err)
	}
	topic := e.prefix + ".meta.topic"
	sub, err := b.Subscribe(ctx, topic, func(*session.Event) {})
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	defer b.Unsubscribe(ctx, sub)
	if got, err := call(protocol.MetaSubscriptionLookup, topic); err != nil || fmt.Sprint(got) != fmt.Sprint(sub.ID) {
		return "", fmt.Errorf("subscription lookup = %v (%v), want %d", got, err, sub.ID)
	}
	if got, err := call(protocol.MetaSubscriptionCountSubscribers, sub.ID); err != nil || fmt.Sprint(got) != "1" {
		return "", fmt.Errorf("count_subscribers = %v (%v)", got, err)
	}
	if _, err := call(protocol.MetaRegistrationGet, protocol.ID(1)); errorURI(err) != protocol.URINoSuchRegistration {
		return "", fmt.Errorf("get of an unknown registration: %v", err)
	}
	return "", nil
}

// retention: an event published with retain is sent to a later subscriber
// asking for get_retained, flagged retained.
func checkRetention(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	if note, err := announced(a, protocol.RoleBroker, protocol.FeatureEventRetention); err != nil {
		return note, err
	}
	topic := e.prefix + ".retained"
	if err := a.Publish(ctx, topic, protocol.List{"kept", binaryA}, nil, session.Acknowledge(true), session.WithOption("retain", true)); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	h, events := eventSink(4)
	sub, err := b.Subscribe(ctx, topic, h, session.WithOption("get_retained", true))
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	defer b.Unsubscribe(ctx, sub)
	ev, err := waitFor(ctx, events, "retained event")
	if err != nil {
		return "", err
	}
	if d := payloadDiff(protocol.List{"kept", binaryA}, ev.Args); d != "" || ev.Details["retained"] != true {
		return "", fmt.Errorf("retained event %v %v (-want +got):\n%s", ev.Details, ev.Args, d)
	}
	return "", nil
}

// testament: a testament added by a third session is published when it
// leaves.
func checkTestament(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	if note, err := announced(a, protocol.RoleDealer, protocol.FeatureTestamentMetaAPI); err != nil {
		return note, err
	}
	topic := e.prefix + ".testament"
	h, events := eventSink(4)
	sub, err := a.Subscribe(ctx, topic, h)
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	defer a.Unsubscribe(ctx, sub)
	c, err := e.join(ctx, e.auth.secret)
	if err != nil {
		return "", fmt.Errorf("join: %w", err)
	}
	if _, err := c.Call(ctx, protocol.MetaSessionAddTestament, protocol.List{topic, protocol.List{"gone", int64(c.Info().Session)}, protocol.Dict{}}, nil); err != nil {
		c.Close(ctx)
		return "", fmt.Errorf("add_testament: %w", err)
	}
	if err := c.Close(ctx); err != nil {
		return "", fmt.Errorf("close: %w", err)
	}
	ev, err := waitFor(ctx, events, "testament event")
	if err != nil {
		return "", err
	}
	if d := payloadDiff(protocol.List{"gone", int64(c.Info().Session)}, ev.Args); d != "" {
		return "", fmt.Errorf("testament event (-want +got):\n%s", d)
	}
	return "", nil
}

// progressive_invocations: a caller streams its input to a callee with
// CallStream; the callee reads it with Invocation.Recv.
func checkProgressiveInvocations(ctx context.Context, e *cellEnv, a, b *peer) (string, error) {
	if note, err := announced(a, protocol.RoleDealer, protocol.FeatureProgressiveCallInvocations); err != nil {
		return note, err
	}
	proc := e.prefix + ".stream"
	reg, err := b.Register(ctx, proc, func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
		got := protocol.List{inv.Arg(0)}
		for {
			c, err := inv.Recv(ctx)
			if errors.Is(err, io.EOF) {
				return &session.Result{Args: got}, nil
			}
			if err != nil {
				return nil, err
			}
			got = append(got, c.Arg(0))
		}
	})
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	defer b.Unregister(ctx, reg)
	st, err := a.CallStream(ctx, proc)
	if err != nil {
		return "", err
	}
	want := protocol.List{int64(1), binaryA, "three"}
	for i, v := range want {
		send := st.Send
		if i == len(want)-1 {
			send = st.CloseSend
		}
		if err := send(protocol.List{v}, nil); err != nil {
			return "", fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	res, err := st.Result()
	if err != nil {
		return "", err
	}
	if d := payloadDiff(want, res.Args); d != "" {
		return "", fmt.Errorf("chunks as the callee saw them (-want +got):\n%s", d)
	}
	return "", nil
}
