import Testing

@testable import SMTPServer

/// Recent user lookups, hits and misses, answered from the cache until they expire.
@Suite struct UserCacheTests {
    @Test func userCacheAnswersHitsAndMissesUntilTheyExpire() {
        let cache = UserCache()
        let user = LocalUser(name: "u", home: "/home/u")
        cache.store("u", user, expires: 100)
        cache.store("ghost", nil, expires: 100)
        #expect(cache.lookup("u", now: 50)?.user == user)
        #expect(cache.lookup("ghost", now: 50).map { $0.user == nil } == true)
        #expect(cache.lookup("u", now: 100) == nil)
        #expect(cache.lookup("other", now: 50) == nil)
    }
}
