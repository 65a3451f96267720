"""Exchange with other tools' formats: FollowTheMoney entities in and out."""
