// replaced by the protocol codec
namespace tickbridge { int protocol_placeholder() { return 0; } }
