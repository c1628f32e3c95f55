package scenario

// The spec sections the scenarios check (wamp-proto rfc/text).
var (
	secHello          = Section{"basic/sessions.md", "HELLO"}
	secWelcome        = Section{"basic/sessions.md", "WELCOME"}
	secAbort          = Section{"basic/sessions.md", "ABORT"}
	secGoodbye        = Section{"basic/sessions.md", "GOODBYE"}
	secURIs           = Section{"basic/building_blocks.md", "URIs"}
	secIDs            = Section{"basic/building_blocks.md", "IDs"}
	secSerializers    = Section{"basic/building_blocks.md", "Serializers"}
	secWebSocket      = Section{"basic/building_blocks.md", "WebSocket Transport"}
	secTransportLife  = Section{"basic/building_blocks.md", "Transport and Session Lifetime"}
	secProtocolErrors = Section{"basic/building_blocks.md", "Protocol Errors"}
	secExtensibility  = Section{"basic/messages.md", "Extensibility"}
	secStructure      = Section{"basic/messages.md", "Structure"}
	secSubscribing    = Section{"basic/publish_subscribe.md", "Subscribing and Unsubscribing"}
	secPublishing     = Section{"basic/publish_subscribe.md", "Publishing and Events"}
	secRegistering    = Section{"basic/remote_procedure_call.md", "Registering and Unregistering"}
	secCalling        = Section{"basic/remote_procedure_call.md", "Calling and Invocations"}
	secCallerLeaving  = Section{"basic/remote_procedure_call.md", "Caller Leaving During an RPC Invocation"}
	secCalleeLeaving  = Section{"basic/remote_procedure_call.md", "Callee Leaving During an RPC Invocation"}
	secOrdering       = Section{"basic/security_model.md", "Ordering Guarantees"}
	secBasicURIs      = Section{"basic/uri_reference.md", "Basic Profile URIs"}

	secAuthMethods   = Section{"advanced/authentication.md", "Authentication Methods"}
	secTicket        = Section{"advanced/authentication_ticket.md", "Ticket-based Authentication"}
	secCRA           = Section{"advanced/authentication_cra.md", "Challenge Response Authentication"}
	secCryptosign    = Section{"advanced/authentication_cryptosign.md", "Cryptosign-based Authentication"}
	secAdvancedURIs  = Section{"advanced/uris.md", "Advanced Profile URIs"}
	secRawSocket     = Section{"advanced/transport_rawsocket.md", "RawSocket Transport"}
	secBinaryJSON    = Section{"advanced/serialization_binary_json.md", "Binary support in JSON"}
	secProgResults   = Section{"advanced/rpc_progressive_call_results.md", "Progressive Call Results"}
	secProgInvoke    = Section{"advanced/rpc_progressive_call_invocations.md", "Progressive Call Invocations"}
	secCallTimeout   = Section{"advanced/rpc_call_timeout.md", "Call Timeouts"}
	secCancel        = Section{"advanced/rpc_call_canceling.md", "Call Canceling"}
	secCallerID      = Section{"advanced/rpc_caller_identification.md", "Caller Identification"}
	secPatternReg    = Section{"advanced/rpc_pattern_based_registration.md", "Pattern-based Registrations"}
	secSharedReg     = Section{"advanced/rpc_shared_registration.md", "Shared Registration"}
	secRegRevocation = Section{"advanced/rpc_registration_revocation.md", "Registration Revocation"}
	secBlackWhite    = Section{"advanced/pubsub_subscriber_blackwhite_listing.md", "Subscriber Black- and Whitelisting"}
	secPubExclusion  = Section{"advanced/pubsub_publisher_exclusion.md", "Publisher Exclusion"}
	secPubID         = Section{"advanced/pubsub_publisher_identification.md", "Publisher Identification"}
	secPatternSub    = Section{"advanced/pubsub_pattern_based_subscription.md", "Pattern-based Subscription"}
	secRetention     = Section{"advanced/pubsub_event_retention.md", "Event Retention"}
	secSubRevocation = Section{"advanced/pubsub_subscription_revocation.md", "Subscription Revocation"}
	secTestament     = Section{"advanced/pubsub_testament.md", "Session Testament"}
	secSessionMeta   = Section{"advanced/meta_api_sessions.md", "Session Meta API"}
	secRegMeta       = Section{"advanced/meta_api_registrations.md", "Registration Meta API"}
	secSubMeta       = Section{"advanced/meta_api_subscriptions.md", "Subscriptions Meta API"}
	secPPT           = Section{"advanced/payload_passthru_mode.md", "Payload Passthru Mode"}
)
