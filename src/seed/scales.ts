/** How much data each seed scale makes. `large` is the size the benchmark (bench/, README § Performance) runs against. */
export interface SeedCounts {
  users: number;
  posts: number;
  questions: number;
  answersPerQuestion: number;
  comments: number;
  /** Reactions to posts. */
  reactions: number;
  /** Reactions to answers (likes and dislikes) and to questions (likes), which earn reputation too. */
  answerReactions: number;
  questionReactions: number;
  followsPerUser: number;
  bookmarks: number;
  /** Public and private chat rooms, the #general room (every member, the long history) included. */
  rooms: number;
  /** Members of each room but #general. */
  membersPerRoom: number;
  directRooms: number;
  /** Chat messages in all rooms; `bigRoomMessages` of them in #general. */
  messages: number;
  bigRoomMessages: number;
  messageReactions: number;
  /** Members holding the employer role, who post the jobs. */
  employers: number;
  jobs: number;
  applications: number;
}

export const SCALES: Record<string, SeedCounts> = {
  tiny: {
    users: 50, posts: 200, questions: 50, answersPerQuestion: 2, comments: 500, reactions: 1_000, answerReactions: 150, questionReactions: 60,
    followsPerUser: 5, bookmarks: 100, rooms: 6, membersPerRoom: 10, directRooms: 20, messages: 1_000, bigRoomMessages: 500,
    messageReactions: 400, employers: 5, jobs: 30, applications: 100,
  },
  small: {
    users: 300, posts: 2_000, questions: 500, answersPerQuestion: 3, comments: 8_000, reactions: 20_000, answerReactions: 3_000,
    questionReactions: 1_000, followsPerUser: 10, bookmarks: 1_000, rooms: 20, membersPerRoom: 40, directRooms: 200, messages: 10_000,
    bigRoomMessages: 5_000, messageReactions: 5_000, employers: 20, jobs: 300, applications: 2_000,
  },
  medium: {
    users: 10_000, posts: 100_000, questions: 25_000, answersPerQuestion: 3, comments: 500_000, reactions: 1_000_000, answerReactions: 150_000,
    questionReactions: 50_000, followsPerUser: 20, bookmarks: 50_000, rooms: 300, membersPerRoom: 150, directRooms: 5_000, messages: 200_000,
    bigRoomMessages: 100_000, messageReactions: 100_000, employers: 300, jobs: 5_000, applications: 50_000,
  },
  large: {
    users: 100_000, posts: 800_000, questions: 200_000, answersPerQuestion: 3, comments: 5_000_000, reactions: 10_000_000, answerReactions: 1_500_000,
    questionReactions: 500_000, followsPerUser: 20, bookmarks: 500_000, rooms: 2_000, membersPerRoom: 250, directRooms: 50_000, messages: 2_000_000,
    bigRoomMessages: 200_000, messageReactions: 1_000_000, employers: 2_000, jobs: 50_000, applications: 500_000,
  },
};
