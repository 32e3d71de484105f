*** Settings ***
Documentation       UDP uppercase server (seed port 12000).
...
...                 Each datagram is decoded as ``${ENCODING}``, upper-cased with Unicode rules
...                 (``straße`` becomes ``STRASSE``), encoded again and sent back to the
...                 address and port it came from.
...
...                 What is demanded: exactly what the seed program does, a loop that answers
...                 datagram after datagram, plus robustness (tag ``robustness``). Datagrams
...                 from clients in flight at once (tag ``concurrency``) simply queue up, so
...                 that loop serves them too. Nothing here is tagged ``beyond-seed``.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    uppercase    udp    --encoding    ${ENCODING}
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       Sentence Should Come Back In Uppercase
Test Tags           udp    uppercase
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***                              SENT                    REPLY
Lowercase Sentence Comes Back In Uppercase      hello world             HELLO WORLD
Mixed Case Comes Back In Uppercase              HeLLo WoRLD             HELLO WORLD
Digits And Punctuation Are Kept                 abc 123 !?.,;:-+        ABC 123 !?.,;:-+
Whitespace Is Kept                              ${SPACE}a\tb c\n        ${SPACE}A\tB C\n
Sharp S Becomes Double S                        straße                  STRASSE
Accented Letters Are Upper-Cased                héllo wörld             HÉLLO WÖRLD
Greek And Cyrillic Letters Are Upper-Cased      αβγ где                 ΑΒΓ ГДЕ
Letters Without Case Are Kept                   日本語 text             日本語 TEXT

The Reply Goes Back To The Sender
    [Documentation]    The reply goes to the address and port the datagram came from: no
    ...    other client gets it, whoever sent last.
    [Template]    NONE
    Given Two Clients
    When Client "second" Sends "from the second client"
    Then Client "second" Receives "FROM THE SECOND CLIENT"
    And Client "first" Receives Nothing

Two Clients At Once Each Get Only Their Own Reply
    [Documentation]    Datagrams from two clients in flight at the same time are each
    ...    answered to their own sender.
    [Tags]    concurrency
    [Template]    NONE
    Given Two Clients
    When Client "first" Sends "from the first client"
    And Client "second" Sends "from the second client"
    Then Client "second" Receives "FROM THE SECOND CLIENT"
    And Client "first" Receives "FROM THE FIRST CLIENT"

Many Sentences In A Row Are Each Answered
    [Documentation]    The server keeps answering, datagram after datagram, in order.
    [Template]    NONE
    Given A Client
    Then Each Of 20 Sentences Comes Back In Uppercase

Invalid UTF-8 Does Not Stop The Server
    [Documentation]    A datagram that is not valid text in the encoding may get any reply,
    ...    but the server survives it and keeps answering.
    [Tags]    robustness
    [Template]    NONE
    Given A Client
    When It Sends The Bytes    Ff Fe C3 28 00
    Then A New Client Still Gets Its Sentence In Uppercase


*** Keywords ***
Sentence Should Come Back In Uppercase
    [Documentation]    A new client sends one datagram and gets exactly ``reply`` back.
    [Arguments]    ${sent}    ${reply}
    Open Client
    Send    ${sent}
    Reply Should Be    ${reply}

Each Of ${count} Sentences Comes Back In Uppercase
    [Documentation]    Send numbered sentences one by one, each answered before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        Send    sentence number ${number}
        Reply Should Be    SENTENCE NUMBER ${number}
    END

A New Client Still Gets Its Sentence In Uppercase
    [Documentation]    The server still answers, and its process still runs.
    The Server Process Should Still Run
    Sentence Should Come Back In Uppercase    still there?    STILL THERE?
