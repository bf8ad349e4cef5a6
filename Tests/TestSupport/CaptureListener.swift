import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A one-shot DNS listener on 127.0.0.1: takes the first message (UDP datagram, or the first
/// length-prefixed TCP message), answers NOERROR with the same ID, and returns what it got.
/// Over TCP, `answers` may give several messages to send instead, each framed, in order.
public final class CaptureListener {
    let socket: Int32
    public let port: UInt16
    let tcp: Bool
    let answers: (([UInt8]) -> [[UInt8]])?

    public init(tcp: Bool, answers: (([UInt8]) -> [[UInt8]])? = nil) throws {
        self.tcp = tcp
        self.answers = answers
        let socket = Glibc.socket(AF_INET, Int32(tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        self.socket = socket
        guard socket >= 0 else { throw ToolError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        guard bound == 0 else { throw ToolError("bind: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        if tcp { listen(socket, 16) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    func reply(to request: [UInt8]) -> [UInt8] {
        var response = Array(request.prefix(12))
        response[2] = 0x80 | (response[2] & 0x78)  // QR, same opcode
        response[3] = 0
        for i in 4..<12 { response[i] = 0 }
        return response
    }

    public func receiveOne() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65535)
        if !tcp {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard count > 0 else { throw ToolError("no UDP message within 15 s") }
            let request = Array(buffer.prefix(count))
            let response = reply(to: request)
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, response, response.count, 0, $0, peerLength) }
            }
            return request
        }
        let connection = accept(socket, nil, nil)
        guard connection >= 0 else { throw ToolError("no TCP connection within 15 s") }
        defer { close(connection) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func read(_ count: Int) throws -> [UInt8] {
            var out: [UInt8] = []
            while out.count < count {
                let n = recv(connection, &buffer, count - out.count, 0)
                guard n > 0 else { throw ToolError("TCP stream ended") }
                out += buffer.prefix(n)
            }
            return out
        }
        let prefix = try read(2)
        let request = try read(Int(prefix[0]) << 8 | Int(prefix[1]))
        for response in answers?(request) ?? [reply(to: request)] {
            let framed = [UInt8(response.count >> 8), UInt8(response.count & 0xFF)] + response
            _ = send(connection, framed, framed.count, Int32(MSG_NOSIGNAL))
        }
        return request
    }

    /// Takes up to `count` messages over TCP, from as many connections as the client opens (each
    /// may carry several, RFC 7766 §6.2.1), answering each NOERROR; returns them in order of
    /// arrival, fewer when nothing arrives for `idle` seconds.
    public func receiveTCP(count: Int, idle: Int = 15) -> [[UInt8]] {
        precondition(tcp, "a TCP listener")
        var connections: [Int32: [UInt8]] = [:]
        defer { for connection in connections.keys { close(connection) } }
        var messages: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while messages.count < count {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            fds += connections.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), Int32(idle * 1000)) > 0 else { break }
            for fd in fds where fd.revents != 0 {
                if fd.fd == socket {
                    let connection = accept(socket, nil, nil)
                    if connection >= 0 { connections[connection] = [] }
                    continue
                }
                let n = recv(fd.fd, &buffer, buffer.count, 0)
                guard n > 0 else {
                    close(fd.fd)
                    connections[fd.fd] = nil
                    continue
                }
                var pending = connections[fd.fd, default: []] + buffer.prefix(n)
                while pending.count >= 2, pending.count >= 2 + (Int(pending[0]) << 8 | Int(pending[1])) {
                    let length = Int(pending[0]) << 8 | Int(pending[1])
                    let request = Array(pending[2..<(2 + length)])
                    pending.removeFirst(2 + length)
                    messages.append(request)
                    let response = reply(to: request)
                    let framed = [UInt8(response.count >> 8), UInt8(response.count & 0xFF)] + response
                    _ = send(fd.fd, framed, framed.count, Int32(MSG_NOSIGNAL))
                }
                connections[fd.fd] = pending
            }
        }
        return messages
    }
}
