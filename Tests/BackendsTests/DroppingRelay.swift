import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay in front of a real primary that misbehaves on purpose, per connection: drops a
/// request unanswered, or passes it on and drops the primary's answer (the primary applied it,
/// the client never hears so), or relays faithfully. Requests on one connection are handled
/// one after another. Loopback only; stopped by the test.
final class DroppingRelay: Sendable {
    enum Behaviour: Sendable {
        /// Close the connection as soon as a whole request arrived, without passing it on.
        case drop
        /// Pass the first request on, wait for the primary's answer, and close without it.
        case forwardThenDrop
        /// Relay every request and answer.
        case forward
    }

    private let listener: Int32
    private let state = NIOLockedValueBox((connections: 0, forwardedBeforeDrop: 0, stopped: false))

    /// Connections accepted so far.
    var connections: Int { state.withLockedValue { $0.connections } }
    /// Requests the primary answered whose answer the relay dropped.
    var forwardedBeforeDrop: Int { state.withLockedValue { $0.forwardedBeforeDrop } }

    init(listen: (address: String, port: Int), upstream: (address: String, port: Int), behaviour: @escaping @Sendable (_ connection: Int) -> Behaviour) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.address(listen.address, listen.port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(listener, 64) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        let state = state
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let index = state.withLockedValue { state -> Int in
                    defer { state.connections += 1 }
                    return state.connections
                }
                let mode = behaviour(index)
                Thread.detachNewThread { Self.serve(client, mode: mode, upstream: upstream, state: state) }
            }
        }
    }

    static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }

    private static func serve(
        _ client: Int32, mode: Behaviour, upstream: (address: String, port: Int),
        state: NIOLockedValueBox<(connections: Int, forwardedBeforeDrop: Int, stopped: Bool)>
    ) {
        defer { close(client) }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var address = address(upstream.address, upstream.port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        while let request = readFrame(client) {
            if mode == .drop { return }
            guard writeAll(server, request), let answer = readFrame(server) else { return }
            if mode == .forwardThenDrop {
                state.withLockedValue { $0.forwardedBeforeDrop += 1 }
                return
            }
            guard writeAll(client, answer) else { return }
        }
    }

    /// One length-prefixed DNS message (RFC 7766 §8), the prefix included.
    private static func readFrame(_ fd: Int32) -> [UInt8]? {
        guard let prefix = readExactly(fd, 2) else { return nil }
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        guard let body = readExactly(fd, length) else { return nil }
        return prefix + body
    }

    private static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            guard n > 0 else { return nil }
            done += n
        }
        return buffer
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
