*** Settings ***
Documentation       TCP timestamp client (seed: lessons 000 and 003's TCP client).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT``, the client connects and
...                 loops: it prompts ``> ``, reads a line from stdin, sends it (without its
...                 newline), reads the server's whole reply (a 24-character ``ctime`` stamp
...                 followed by the line) and prints it. An empty line, or the end of its
...                 input, ends the loop: the client closes the connection and exits with
...                 code 0. It also stops when the server closes the connection.
...
...                 Here the suite is the server: it answers each line with a fixed stamp
...                 followed by the line, as the timestamp server does.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Test Setup          A Server Listening On TCP
Test Teardown       Stop The Client And Close Connections
Test Tags           tcp    timestamp    client
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${STAMP}        Sun Dec 16 17:04:10 2018


*** Test Cases ***
Each Typed Line Is Sent And Its Reply Printed
    [Documentation]    Lines go out one by one, exactly as typed, each after the reply to
    ...    the one before; every reply is printed.
    Given A Client Connected With Lines    hello    second line    ${EMPTY}
    When It Sends "hello" And Gets Its Stamp
    And It Sends "second line" And Gets Its Stamp
    Then The Client Prints "${STAMP}hello"
    And The Client Prints "${STAMP}second line"

An Empty Line Ends The Session And Closes The Connection
    [Documentation]    After an empty line the client closes the connection, having sent
    ...    nothing more (no newline), and exits with code 0.
    Given A Client Connected With Lines    only line    ${EMPTY}
    When It Sends "only line" And Gets Its Stamp
    Then The Client Closes The Connection
    And It Exits With Code 0

It Stops When The Server Closes
    [Documentation]    When the server closes the connection instead of replying, the client
    ...    stops, with exit code 0, although more lines were typed.
    Given A Client Connected With Lines    hello    never answered    ${EMPTY}
    When The Server Receives "hello"
    And The Server Closes The Connection
    Then It Exits With Code 0

A Reply Split In Segments Is Printed Whole
    [Documentation]    A reply that arrives in several pieces is read to its end and printed
    ...    as one reply.
    Given A Client Connected With Lines    hello world    ${EMPTY}
    When The Server Receives "hello world"
    And The Server Replies "${STAMP}hello world" In Segments
    Then The Client Prints "${STAMP}hello world"

A Long Reply Is Printed Whole
    [Documentation]    A reply of 60,024 bytes, far more than one receive returns, is
    ...    printed whole.
    VAR    ${long}    ${{ 'x' * 60000 }}
    Given A Client Connected With Lines    ${long}    ${EMPTY}
    When It Sends "${long}" And Gets Its Stamp
    Then The Client Prints "${STAMP}${long}"

A Refused Connection Is Reported
    [Documentation]    With nobody listening, the client says so and exits with a code
    ...    other than 0.
    [Setup]    No Server Listening
    When Start The Client    timestamp    lines=${{ ['hello'] }}
    Then It Reports An Error And Exits Non-Zero


*** Keywords ***
A Client Connected With Lines
    [Documentation]    Start the timestamp client with these lines typed on its stdin, and
    ...    accept its connection.
    [Arguments]    @{lines}
    Start The Client    timestamp    lines=${lines}
    The Client Connects

It Sends "${line}" And Gets Its Stamp
    [Documentation]    The next message from the client is exactly ``line``; the server
    ...    answers the stamp followed by ``line``.
    The Server Receives "${line}"
    The Server Replies "${STAMP}${line}"

The Server Closes The Connection
    [Documentation]    Close the server's side of the connection without replying.
    Close Connection
