#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>

struct Clock {
  virtual ~Clock() = default;
  virtual int now() const = 0;
};
struct MockClock : Clock {
  MOCK_METHOD(int, now, (), (const, override));
};

TEST(Smoke, Gmock) {
  MockClock c;
  EXPECT_CALL(c, now()).WillOnce(testing::Return(42));
  EXPECT_EQ(c.now(), 42);
}

TEST(Smoke, YamlAndExceptions) {
  auto n = YAML::Load("a: [1, 2, 3]\nb: text\n");
  EXPECT_EQ(n["a"].size(), 3u);
  EXPECT_EQ(n["b"].as<std::string>(), "text");
  EXPECT_THROW(YAML::Load("a: [1, 2"), YAML::ParserException);
  EXPECT_THROW(throw std::runtime_error("x"), std::runtime_error);
}
