import DNSWire
import Foundation
import TestSupport
import Transport
import XCTest

/// `DNSClient.transfer`: several answer messages on one TCP connection, as a zone transfer
/// sends them (RFC 5936 §2.2), read until the caller's last one; messages with another ID are
/// ignored; a stream cut short or over the limit is an error.
final class DNSClientTransferTests: XCTestCase {
    /// A bare answer (a header and 20 octets of padding) with the request's ID, or `id`, told
    /// apart from the others by `number` in its ANCOUNT field.
    static func answer(to request: [UInt8], number: UInt16, id: UInt16? = nil) -> [UInt8] {
        var message = Array(request.prefix(12))
        if let id { (message[0], message[1]) = (UInt8(id >> 8), UInt8(id & 0xFF)) }
        message[2] = 0x80
        message[3] = 0
        for i in 4..<12 { message[i] = 0 }
        message[6] = UInt8(number >> 8)
        message[7] = UInt8(number & 0xFF)
        return message + [UInt8](repeating: 0, count: 20)
    }

    static func request(id: UInt16) throws -> [UInt8] {
        var message = Message(question: [Question(name: try DomainName("parent."), type: .axfr)])
        message.id = id
        return try message.wireFormat()
    }

    /// Runs `transfer` against a listener that sends `answers(request)`; returns the result.
    func transfer(limit: Int = 1 << 20, answers: @escaping ([UInt8]) -> [[UInt8]], lastIndex: Int) async throws -> Result<[[UInt8]], Error> {
        let listener = try CaptureListener(tcp: true, answers: answers)
        let port = Int(listener.port)
        let request = try Self.request(id: 4711)
        let task = Task {
            try await DNSClient(timeout: .seconds(5)).transfer(request, host: "127.0.0.1", port: port, limit: limit) { _, index in index == lastIndex }
        }
        _ = try listener.receiveOne()
        do {
            return .success(try await task.value)
        } catch {
            return .failure(error)
        }
    }

    func testReadsUntilTheLastMessage() async throws {
        let result = try await transfer(
            answers: { request in
                [Self.answer(to: request, number: 9, id: 1)] + (1...4).map { Self.answer(to: request, number: UInt16($0)) }
            }, lastIndex: 2)
        let messages = try result.get()
        XCTAssertEqual(messages.map { UInt16($0[6]) << 8 | UInt16($0[7]) }, [1, 2, 3], "the message with another ID is skipped, the fourth not read")
        XCTAssertTrue(messages.allSatisfy { $0[0] == 0x12 && $0[1] == 0x67 })
    }

    func testAStreamCutShortIsAnError() async throws {
        let result = try await transfer(answers: { [Self.answer(to: $0, number: 1)] }, lastIndex: 2)
        guard case .failure(let error as DNSClientError) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(error.code, .connection)
        XCTAssertTrue(error.detail.contains("after 1 message(s) of the answer, before its last"), error.description)
    }

    func testMoreThanTheLimitIsAnError() async throws {
        let result = try await transfer(limit: 100, answers: { request in (1...4).map { Self.answer(to: request, number: UInt16($0)) } }, lastIndex: 3)
        guard case .failure(let error as DNSClientError) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(error.code, .tooLong)
        XCTAssertTrue(error.description.contains("longer than 100 octets"), error.description)
    }
}
