/// CURVE set-up in the right order. Call these after creating the socket and before `bind` or
/// `connect`; they change nothing already connected.
extension Socket {
  /// Makes this socket a CURVE server with `keyPair`, authenticated by `authenticator`'s
  /// allow-list: sets `ZMQ_CURVE_SERVER=1`, `ZMQ_CURVE_SECRETKEY`, then `ZMQ_ZAP_DOMAIN` to the
  /// authenticator's domain.
  ///
  /// Taking the authenticator makes the safe order the only order: it must exist (bound in this
  /// socket's context) before the server binds, because libzmq admits every client when no ZAP
  /// handler is bound. Throws ``ZMQError/Code/invalidArgument`` if it lives in another context.
  public func makeCurveServer(keyPair: CurveKeyPair, authenticator: ZAPAuthenticator) throws(ZMQError) {
    guard authenticator.socket.context === context else {
      throw ZMQError(
        code: .invalidArgument,
        message:
          "The ZAP authenticator belongs to another ZeroMQ context than this socket; create both from the same ZMQContext."
      )
    }
    try CurveKeyPair.requireCurve()
    try set(.curveServer(true), .curveSecretKey(keyPair.secretKeyBytes), .zapDomain(authenticator.domain))
  }

  /// Makes this socket a CURVE client of the server whose public key is `serverPublicKey` (Z85),
  /// proving itself with `clientKeyPair`: sets `ZMQ_CURVE_SERVERKEY`, `ZMQ_CURVE_PUBLICKEY`, then
  /// `ZMQ_CURVE_SECRETKEY`.
  ///
  /// A server that does not know the client's key never answers: sends just queue. A wrong server
  /// key looks the same; libzmq reports neither to the client.
  public func makeCurveClient(serverPublicKey: String, clientKeyPair: CurveKeyPair) throws(ZMQError) {
    try CurveKeyPair.requireCurve()
    let serverKey = try CurveKeyPair.decodeKey(serverPublicKey, role: "server public")
    try set(
      .curveServerKey(serverKey), .curvePublicKey(clientKeyPair.publicKeyBytes),
      .curveSecretKey(clientKeyPair.secretKeyBytes))
  }
}
