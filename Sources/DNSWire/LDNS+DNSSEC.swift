import CLDNS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LDNS {
    /// What ldns says of one RRSIG checked with one key at a given time.
    enum RRSIGCheck: Sendable, Equatable {
        case valid
        /// The check time is after the signature expiration (RFC 4035 §5.3.1).
        case expired
        /// The check time is before the signature inception (RFC 4035 §5.3.1).
        case notYetValid
        /// Expiration before inception.
        case invertedWindow
        /// The cryptographic check failed.
        case badSignature
        /// ldns cannot verify this algorithm.
        case unsupportedAlgorithm
        case other(String)
    }

    /// `ldns_verify_rrsig_time`: canonical form of `records` (RFC 4034 §6), the RRSIG's type
    /// covered, key tag and algorithm against `key`, the signature, then the validity window at
    /// `now`. The caller has checked owner, signer and labels (ldns does not).
    static func verify(_ records: [Record], rrsig: Record, key: Record, now: Int64) -> RRSIGCheck {
        guard let list = ldns_rr_list_new() else { return .other("out of memory") }
        defer { ldns_rr_list_deep_free(list) }
        do {
            for record in records {
                let rr = try makeRR(record.wire, question: false)
                guard ldns_rr_list_push_rr(list, rr) != 0 else {
                    ldns_rr_free(rr)
                    return .other("out of memory")
                }
            }
            let sig = try makeRR(rrsig.wire, question: false)
            defer { ldns_rr_free(sig) }
            let dnskey = try makeRR(key.wire, question: false)
            defer { ldns_rr_free(dnskey) }
            let status = ldns_verify_rrsig_time(list, sig, dnskey, time_t(now))
            switch status {
            case LDNS_STATUS_OK: return .valid
            case LDNS_STATUS_CRYPTO_SIG_EXPIRED: return .expired
            case LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED: return .notYetValid
            case LDNS_STATUS_CRYPTO_EXPIRATION_BEFORE_INCEPTION: return .invertedWindow
            case LDNS_STATUS_CRYPTO_BOGUS: return .badSignature
            case LDNS_STATUS_CRYPTO_UNKNOWN_ALGO, LDNS_STATUS_CRYPTO_ALGO_NOT_IMPL: return .unsupportedAlgorithm
            default: return .other(error(status, "ldns").detail)
            }
        } catch {
            return .other("\(error)")
        }
    }

    /// A signature time (RFC 4034 §3.2) in the presentation form `YYYYMMDDHHmmSS`, as ldns
    /// prints it.
    static func timeText(_ value: UInt32) -> String {
        guard let rdf = ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, value) else { return String(value) }
        defer { ldns_rdf_deep_free(rdf) }
        return string(ldns_rdf2str(rdf)) ?? String(value)
    }
}
