package protocol

// This file is the one home of the names the WAMP specification defines:
// error and close URIs, meta API procedures and topics, role and feature
// names, and the role/feature lists this module announces. Every layer
// (session, auth, router, router/nexus) uses these instead of spelling the
// strings again.

// Error URIs (ERROR.Error, ABORT.Reason), from the Basic and Advanced
// Profile URI lists and what crossbar/autobahn emit.
const (
	URIInvalidURI                                   = "wamp.error.invalid_uri"
	URINoSuchProcedure                              = "wamp.error.no_such_procedure"
	URIProcedureAlreadyExists                       = "wamp.error.procedure_already_exists"
	URIProcedureExistsWithDifferentInvocationPolicy = "wamp.error.procedure_exists_with_different_invocation_policy"
	URINoSuchRegistration                           = "wamp.error.no_such_registration"
	URINoSuchSubscription                           = "wamp.error.no_such_subscription"
	URINoSuchSession                                = "wamp.error.no_such_session"
	URIInvalidArgument                              = "wamp.error.invalid_argument"
	URICanceled                                     = "wamp.error.canceled"
	URITimeout                                      = "wamp.error.timeout"
	URIPayloadSizeExceeded                          = "wamp.error.payload_size_exceeded"
	URIProtocolViolation                            = "wamp.error.protocol_violation"
	URINotAuthorized                                = "wamp.error.not_authorized"
	URIAuthorizationFailed                          = "wamp.error.authorization_failed"
	URIAuthenticationFailed                         = "wamp.error.authentication_failed"
	URIAuthenticationDenied                         = "wamp.error.authentication_denied"
	URINoSuchRealm                                  = "wamp.error.no_such_realm"
	URINoSuchRole                                   = "wamp.error.no_such_role"
	URINoSuchPrincipal                              = "wamp.error.no_such_principal"
	// URINoAuthMethod is what crossbar, autobahn and nexus send when no
	// offered authmethod is accepted (the spec text says
	// wamp.error.no_matching_auth_method).
	URINoAuthMethod               = "wamp.error.no_auth_method"
	URINoMatchingAuthMethod       = "wamp.error.no_matching_auth_method" // the spec's spelling of URINoAuthMethod
	URICannotAuthenticate         = "wamp.error.cannot_authenticate"
	URIFeatureNotSupported        = "wamp.error.feature_not_supported"
	URIOptionNotAllowed           = "wamp.error.option_not_allowed"
	URINoEligibleCallee           = "wamp.error.no_eligible_callee"
	URIRuntimeError               = "wamp.error.runtime_error"
	URITestamentError             = "wamp.error.testament_error"
	URINetworkFailure             = "wamp.error.network_failure"
	URIUnregistered               = "wamp.error.unregistered" // crossbar's revocation reason
	URIInvalidPayload             = "wamp.error.invalid_payload"
	URIOptionDisallowedDiscloseMe = "wamp.error.option_disallowed.disclose_me"
)

// Close URIs (GOODBYE.Reason, ABORT.Reason).
const (
	URICloseNormal    = "wamp.close.normal"
	URICloseRealm     = "wamp.close.close_realm"
	URIGoodbyeAndOut  = "wamp.close.goodbye_and_out"
	URISystemShutdown = "wamp.close.system_shutdown"
	URIKilled         = "wamp.close.killed"
)

// Meta API procedures and topics (session, registration and subscription
// meta APIs, testaments).
const (
	MetaSessionCount           = "wamp.session.count"
	MetaSessionList            = "wamp.session.list"
	MetaSessionGet             = "wamp.session.get"
	MetaSessionKill            = "wamp.session.kill"
	MetaSessionKillByAuthID    = "wamp.session.kill_by_authid"
	MetaSessionKillByAuthRole  = "wamp.session.kill_by_authrole"
	MetaSessionKillAll         = "wamp.session.kill_all"
	MetaSessionAddTestament    = "wamp.session.add_testament"
	MetaSessionFlushTestaments = "wamp.session.flush_testaments"
	MetaSessionOnJoin          = "wamp.session.on_join"
	MetaSessionOnLeave         = "wamp.session.on_leave"

	MetaRegistrationList         = "wamp.registration.list"
	MetaRegistrationLookup       = "wamp.registration.lookup"
	MetaRegistrationMatch        = "wamp.registration.match"
	MetaRegistrationGet          = "wamp.registration.get"
	MetaRegistrationListCallees  = "wamp.registration.list_callees"
	MetaRegistrationCountCallees = "wamp.registration.count_callees"
	MetaRegistrationRemoveCallee = "wamp.registration.remove_callee"
	MetaRegistrationOnCreate     = "wamp.registration.on_create"
	MetaRegistrationOnRegister   = "wamp.registration.on_register"
	MetaRegistrationOnUnregister = "wamp.registration.on_unregister"
	MetaRegistrationOnDelete     = "wamp.registration.on_delete"

	MetaSubscriptionList             = "wamp.subscription.list"
	MetaSubscriptionLookup           = "wamp.subscription.lookup"
	MetaSubscriptionMatch            = "wamp.subscription.match"
	MetaSubscriptionGet              = "wamp.subscription.get"
	MetaSubscriptionListSubscribers  = "wamp.subscription.list_subscribers"
	MetaSubscriptionCountSubscribers = "wamp.subscription.count_subscribers"
	MetaSubscriptionRemoveSubscriber = "wamp.subscription.remove_subscriber"
	MetaSubscriptionOnCreate         = "wamp.subscription.on_create"
	MetaSubscriptionOnSubscribe      = "wamp.subscription.on_subscribe"
	MetaSubscriptionOnUnsubscribe    = "wamp.subscription.on_unsubscribe"
	MetaSubscriptionOnDelete         = "wamp.subscription.on_delete"
)

// ReservedPrefix starts every URI the protocol reserves for itself.
const ReservedPrefix = "wamp."

// Role names: the keys of HELLO and WELCOME Details.roles.
const (
	RoleCaller     = "caller"
	RoleCallee     = "callee"
	RolePublisher  = "publisher"
	RoleSubscriber = "subscriber"
	RoleDealer     = "dealer"
	RoleBroker     = "broker"
)

// Feature names: the keys of Details.roles.<role>.features.
const (
	FeatureCallCanceling              = "call_canceling"
	FeatureCallTimeout                = "call_timeout"
	FeatureCallerIdentification       = "caller_identification"
	FeatureProgressiveCallResults     = "progressive_call_results"
	FeatureProgressiveCallInvocations = "progressive_call_invocations"
	FeaturePatternBasedRegistration   = "pattern_based_registration"
	FeatureSharedRegistration         = "shared_registration"
	FeatureRegistrationRevocation     = "registration_revocation"
	FeatureRegistrationMetaAPI        = "registration_meta_api"
	FeatureTestamentMetaAPI           = "testament_meta_api"
	FeaturePublisherIdentification    = "publisher_identification"
	FeaturePublisherExclusion         = "publisher_exclusion"
	FeatureSubscriberBlackWhiteList   = "subscriber_blackwhite_listing"
	FeaturePatternBasedSubscription   = "pattern_based_subscription"
	FeatureSubscriptionRevocation     = "subscription_revocation"
	FeatureSubscriptionMetaAPI        = "subscription_meta_api"
	FeatureSessionMetaAPI             = "session_meta_api"
	FeatureEventRetention             = "event_retention"
	FeaturePayloadPassthruMode        = "payload_passthru_mode"
)

// RoleFeatures is one role and the features announced for it.
type RoleFeatures struct {
	Role     string   // a role name, such as RoleCallee
	Features []string // feature names, such as FeatureCallCanceling
}

// clientRoles is what package session implements as a client; it is
// announced in every HELLO.
var clientRoles = []RoleFeatures{
	{RoleCaller, []string{FeatureProgressiveCallResults, FeatureCallCanceling, FeatureCallerIdentification,
		FeatureProgressiveCallInvocations, FeaturePayloadPassthruMode}},
	{RoleCallee, []string{FeatureProgressiveCallResults, FeatureCallCanceling, FeaturePatternBasedRegistration,
		FeatureSharedRegistration, FeatureCallerIdentification, FeatureRegistrationRevocation,
		FeatureProgressiveCallInvocations, FeaturePayloadPassthruMode}},
	{RolePublisher, []string{FeaturePublisherExclusion, FeaturePublisherIdentification, FeatureSubscriberBlackWhiteList,
		FeaturePayloadPassthruMode}},
	{RoleSubscriber, []string{FeaturePatternBasedSubscription, FeaturePublisherIdentification, FeatureSubscriptionRevocation,
		FeaturePayloadPassthruMode}},
}

// routerRoles is exactly what package router implements; it is announced
// in WELCOME by package router and by session.Accept by default.
var routerRoles = []RoleFeatures{
	{RoleBroker, []string{FeaturePatternBasedSubscription, FeaturePublisherExclusion, FeaturePublisherIdentification,
		FeatureSubscriberBlackWhiteList, FeatureSessionMetaAPI, FeatureSubscriptionMetaAPI,
		FeatureSubscriptionRevocation, FeatureEventRetention, FeaturePayloadPassthruMode}},
	{RoleDealer, []string{FeaturePatternBasedRegistration, FeatureSharedRegistration, FeatureCallCanceling,
		FeatureCallTimeout, FeatureProgressiveCallResults, FeatureProgressiveCallInvocations,
		FeatureCallerIdentification, FeatureRegistrationRevocation, FeatureSessionMetaAPI,
		FeatureRegistrationMetaAPI, FeatureTestamentMetaAPI, FeaturePayloadPassthruMode}},
}

// ClientRoles returns HELLO.Details.roles for the features package session
// implements as a client, as a fresh value the caller may modify.
func ClientRoles() Dict { return RolesDict(clientRoles...) }

// RouterRoles returns WELCOME.Details.roles for the features package
// router implements, as a fresh value the caller may modify.
func RouterRoles() Dict { return RolesDict(routerRoles...) }

// RolesDict builds a Details.roles value: each role maps to
// {"features": {name: true, ...}}.
func RolesDict(roles ...RoleFeatures) Dict {
	d := make(Dict, len(roles))
	for _, r := range roles {
		f := make(Dict, len(r.Features))
		for _, n := range r.Features {
			f[n] = true
		}
		d[r.Role] = Dict{"features": f}
	}
	return d
}

// HasFeature reports whether HELLO or WELCOME details announce feature for
// role: details["roles"][role]["features"][feature] is true. Anything else,
// including a non-boolean value, is false.
func HasFeature(details Dict, role, feature string) bool {
	roles, _ := details["roles"].(Dict)
	r, _ := roles[role].(Dict)
	f, _ := r["features"].(Dict)
	v, _ := f[feature].(bool)
	return v
}
